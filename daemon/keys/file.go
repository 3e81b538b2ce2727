package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xaad-dev/xaad/storage"
)

// fileSource keeps the key, base64, in a 0600 file. A rekey writes
// PATH.new first and renames it over PATH once the database is re-sealed;
// load looks at PATH.new too, so a crash in between loses nothing.
type fileSource struct{ path string }

func (f fileSource) Provider() string { return File }
func (f fileSource) String() string   { return "key file " + f.path }

// outside refuses a key file inside the state folder: a copy of the folder
// would carry the key with the database.
func (f fileSource) outside(stateDir string) error {
	abs, err := filepath.Abs(f.path)
	if err != nil {
		return err
	}
	sd, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(sd, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("key_file %s is inside the state folder %s: keep the key apart from the database", f.path, stateDir)
	}
	return nil
}

func (f fileSource) load(id string) ([]byte, error) {
	k, err := readKeyFile(f.path)
	if err == nil {
		k, err = matches(k, id)
	}
	// PATH missing, or holding another key: a rekey may have re-sealed the
	// database and died before renaming PATH.new over PATH. That includes a
	// rekey that moved the key here from another provider, when there was
	// no PATH before. A new database (no id) never takes a pending key.
	if err == nil || id == "" || !errors.Is(err, errNoKeyHere) {
		return k, err
	}
	next, nerr := readKeyFile(f.path + ".new")
	if nerr != nil {
		return nil, err
	}
	if _, merr := matches(next, id); merr != nil {
		return nil, err
	}
	if err := os.Rename(f.path+".new", f.path); err != nil {
		return nil, err
	}
	// Best effort: should the rename be lost, the next start redoes it.
	_ = syncParent(f.path)
	return next, nil
}

func readKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoKeyHere
	}
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %04o): the key may be leaked; chmod 600 it, and consider `xaad rekey`", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := decodeKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// create writes a first key to the file unless one appeared meanwhile (two
// daemons starting at once on a fresh machine), in which case it returns
// that one: a key file is never overwritten with a different key.
func (f fileSource) create(key []byte) ([]byte, error) {
	tmp := fmt.Sprintf("%s.%d.new", f.path, os.Getpid())
	if err := writeKeyFile(tmp, key); err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, f.path); errors.Is(err, os.ErrExist) {
		return readKeyFile(f.path)
	} else if err != nil {
		return nil, fmt.Errorf("write key file %s: %w", f.path, err)
	}
	return key, syncParent(f.path)
}

func (f fileSource) storePending(key []byte) error { return writeKeyFile(f.path+".new", key) }

func (f fileSource) commit(key, _ []byte) error {
	if _, err := os.Stat(f.path + ".new"); err != nil {
		return writeKeyFile(f.path, key)
	}
	if err := os.Rename(f.path+".new", f.path); err != nil {
		return err
	}
	return syncParent(f.path)
}

func (f fileSource) remove(key []byte) error {
	k, err := readKeyFile(f.path)
	if err != nil || storage.KeyID(k) != storage.KeyID(key) {
		return nil // not this key: leave it
	}
	return os.Remove(f.path)
}

// writeKeyFile creates path with mode 0600 (its folder 0700) and syncs it,
// so a key acknowledged as written survives a crash.
func writeKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(encodeKey(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return syncParent(path)
}

func syncParent(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
