package daemon

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/storage"
)

// Key providers keep the database's data key outside the database file, so
// a copy of the file alone reveals nothing (architecture.md, security
// model). In "auto" mode they are tried in this order, strongest first.
const (
	// ProviderSystemd reads a systemd credential (LoadCredentialEncrypted=
	// xaad-data-key:...), sealed by the host or the TPM. Read-only.
	ProviderSystemd = "systemd"
	// ProviderKeyring keeps the key in the Secret Service (GNOME Keyring,
	// KWallet) over D-Bus, unlocked with the person's login.
	ProviderKeyring = "keyring"
	// ProviderFile keeps the key in a 0600 file outside the state folder:
	// the weakest, for machines with neither of the above.
	ProviderFile = "file"
	// ProviderAuto picks the first of the above that holds the database's
	// key, or for a new database the first that is available.
	ProviderAuto = "auto"
)

// CredentialName is the systemd credential xaad reads from
// $CREDENTIALS_DIRECTORY.
const CredentialName = "xaad-data-key"

// keyFileWarning is shown by Status while the key lives in a file.
const keyFileWarning = "the database key is kept in the file %s, the weakest key provider: anyone who can read both it and the database gets every token; prefer the Secret Service keyring or a systemd credential (key_provider in the [daemon] section)"

var errNoKeyHere = errors.New("no key stored")

// keySource is one place a data key can be kept.
type keySource interface {
	// name is the provider name (ProviderSystemd ...).
	name() string
	// String says where, for messages: never the key.
	String() string
	// load returns the key whose storage.KeyID is id, or any key it holds
	// when id is empty; errNoKeyHere when it holds none (that matches).
	load(id string) ([]byte, error)
	// storePending saves key next to the current one without replacing it,
	// so both exist while a rekey runs; commit makes it the current key and
	// forgets old (which may be nil).
	storePending(key []byte) error
	commit(key, old []byte) error
	// remove forgets key (a key moved to another provider).
	remove(key []byte) error
}

func (d DaemonSection) validateKeys() Problems {
	var p Problems
	if d.KeyProvider != "" && !slices.Contains([]string{ProviderAuto, ProviderSystemd, ProviderKeyring, ProviderFile}, d.KeyProvider) {
		p = append(p, fmt.Sprintf("daemon.key_provider %q: want auto, systemd, keyring or file", d.KeyProvider))
	}
	if d.KeyFile != "" && !filepath.IsAbs(d.KeyFile) {
		p = append(p, fmt.Sprintf("daemon.key_file %q is not an absolute path", d.KeyFile))
	}
	return p
}

// defaultKeyFile is $XDG_CONFIG_HOME/xaad/data.key: not the state folder,
// so that copying or backing up the state folder does not take the key.
func defaultKeyFile() string {
	return filepath.Join(filepath.Dir(DefaultConfigPath()), "data.key")
}

// keySources returns the sources to consider, in order of preference.
func keySources(d DaemonSection, stateDir string) ([]keySource, error) {
	file := d.KeyFile
	if file == "" {
		file = defaultKeyFile()
	}
	fs := fileSource{path: file}
	credDir := os.Getenv("CREDENTIALS_DIRECTORY")
	switch d.KeyProvider {
	case ProviderSystemd:
		if credDir == "" {
			return nil, errors.New("key_provider is systemd but $CREDENTIALS_DIRECTORY is not set: start xaad from a unit with LoadCredentialEncrypted=" + CredentialName + ":PATH")
		}
		return []keySource{systemdSource{dir: credDir}}, nil
	case ProviderKeyring:
		return []keySource{keyringSource{}}, nil
	case ProviderFile:
		if err := fs.outside(stateDir); err != nil {
			return nil, err
		}
		return []keySource{fs}, nil
	}
	var out []keySource
	if credDir != "" {
		out = append(out, systemdSource{dir: credDir})
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		out = append(out, keyringSource{})
	}
	if fs.outside(stateDir) == nil {
		out = append(out, fs)
	}
	return out, nil
}

// encodeKey is the text form of a key in files and the keyring.
func encodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// decodeKey accepts the forms a person may provide: 32 raw bytes (head -c
// 32 /dev/urandom), base64 or hex, with surrounding whitespace.
func decodeKey(raw []byte) ([]byte, error) {
	if len(raw) == storage.KeySize {
		return raw, nil
	}
	s := strings.TrimSpace(string(raw))
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == storage.KeySize {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == storage.KeySize {
		return k, nil
	}
	return nil, fmt.Errorf("not a %d-byte key (raw, base64 or hex)", storage.KeySize)
}

// matches filters a loaded key by id.
func matches(key []byte, id string) ([]byte, error) {
	if id != "" && storage.KeyID(key) != id {
		return nil, fmt.Errorf("%w with id %s (it holds key %s)", errNoKeyHere, id, storage.KeyID(key))
	}
	return key, nil
}
