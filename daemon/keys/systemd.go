package keys

import (
	"errors"
	"os"
	"path/filepath"
)

// systemdSource reads $CREDENTIALS_DIRECTORY/xaad-data-key. systemd owns
// the credential, so xaad never writes it.
type systemdSource struct{ dir string }

func (s systemdSource) Provider() string { return Systemd }
func (s systemdSource) String() string {
	return "systemd credential " + filepath.Join(s.dir, CredentialName)
}

func (s systemdSource) load(id string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(s.dir, CredentialName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoKeyHere
	}
	if err != nil {
		return nil, err
	}
	k, err := decodeKey(raw)
	if err != nil {
		return nil, err
	}
	return matches(k, id)
}

var errReadOnly = errors.New("systemd credentials are read-only to xaad: put a new key in the credential yourself (systemd-creds encrypt), or move the key to another provider with `xaad rekey --key-provider keyring|file`")

func (systemdSource) storePending([]byte) error { return errReadOnly }
func (systemdSource) commit(_, _ []byte) error  { return errReadOnly }
func (systemdSource) remove([]byte) error       { return nil } // the admin's to remove
