// Package keys finds and keeps the data key of xaad's sealed database.
// Key providers keep the key outside the database file, so a copy of the
// file alone reveals nothing. In "auto" mode they are tried strongest
// first: a systemd credential, the Secret Service keyring, a key file.
//
// The daemon opens the database with [Find]; `xaad rekey` re-seals it
// with [Rekey]. Only package daemon imports this package.
package keys

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/internal/paths"
	"github.com/xaad-dev/xaad/storage"
)

// Provider names, as key_provider in the [daemon] section takes them.
const (
	// Systemd reads a systemd credential (LoadCredentialEncrypted=
	// xaad-data-key:...), sealed by the host or the TPM. Read-only.
	Systemd = "systemd"
	// Keyring keeps the key in the Secret Service (GNOME Keyring,
	// KWallet) over D-Bus, unlocked with the person's login.
	Keyring = "keyring"
	// File keeps the key in a 0600 file outside the state folder: the
	// weakest, for machines with neither of the above.
	File = "file"
	// Auto picks the first of the above that holds the database's key, or
	// for a new database the first that is available.
	Auto = "auto"
)

// CredentialName is the systemd credential xaad reads from
// $CREDENTIALS_DIRECTORY.
const CredentialName = "xaad-data-key"

// errNoKeyHere means a source holds no key (or not the one asked for).
var errNoKeyHere = errors.New("no key stored")

// Settings are key_provider and key_file of the [daemon] section.
type Settings struct {
	Provider string // "" means Auto
	File     string // "" means [DefaultFile]
}

// Validate lists what is wrong with s, each problem naming the setting.
func (s Settings) Validate() []string {
	var p []string
	if s.Provider != "" && !slices.Contains([]string{Auto, Systemd, Keyring, File}, s.Provider) {
		p = append(p, fmt.Sprintf("daemon.key_provider %q: want auto, systemd, keyring or file", s.Provider))
	}
	if s.File != "" && !filepath.IsAbs(s.File) {
		p = append(p, fmt.Sprintf("daemon.key_file %q is not an absolute path: write it in full, for example /home/you/.config/xaad/data.key", s.File))
	}
	return p
}

// Source is one place a data key can be kept. Its methods beyond these
// two are the package's own.
type Source interface {
	// Provider is the provider's name (Systemd ...).
	Provider() string
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

// DefaultFile is ConfigDir/data.key ($XDG_CONFIG_HOME/xaad/data.key): not
// the state folder, so that copying or backing up the state folder does
// not take the key.
func DefaultFile() string {
	dir, err := paths.ConfigDir()
	if err != nil {
		return "" // refused by Sources with the reason
	}
	return filepath.Join(dir, "data.key")
}

// Sources returns the sources to consider for a database in stateDir, in
// order of preference.
func Sources(s Settings, stateDir string) ([]Source, error) {
	file := s.File
	if file == "" {
		if file = DefaultFile(); file == "" {
			_, err := paths.ConfigDir()
			return nil, fmt.Errorf("no place for a key file: %w (or set key_file in the [daemon] section)", err)
		}
	}
	fs := fileSource{path: file}
	credDir := os.Getenv("CREDENTIALS_DIRECTORY")
	switch s.Provider {
	case Systemd:
		if credDir == "" {
			return nil, errors.New("key_provider is systemd but $CREDENTIALS_DIRECTORY is not set: start xaad from a unit with LoadCredentialEncrypted=" + CredentialName + ":PATH")
		}
		return []Source{systemdSource{dir: credDir}}, nil
	case Keyring:
		return []Source{keyringSource{}}, nil
	case File:
		if err := fs.outside(stateDir); err != nil {
			return nil, err
		}
		return []Source{fs}, nil
	}
	var out []Source
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

// Warning is what Status should say about a source: a key file is the
// weakest provider. It is "" for the others.
func Warning(s Source) string {
	fs, ok := s.(fileSource)
	if !ok {
		return ""
	}
	return fmt.Sprintf("the database key is kept in the file %s, the weakest key provider: anyone who can read both it and the database gets every token; prefer the Secret Service keyring or a systemd credential (key_provider in the [daemon] section)", fs.path)
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
