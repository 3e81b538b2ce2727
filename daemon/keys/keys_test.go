package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/storage"
)

// keyEnv isolates a test from the person's session: no systemd credential,
// no Secret Service, and a config folder of its own.
func keyEnv(t *testing.T) (state, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	return filepath.Join(dir, "state"), filepath.Join(dir, "config", "xaad", "data.key")
}

// open does what the daemon does at start: inspect, find the key, open.
func open(state string, s Settings) (*storage.DB, Source, error) {
	path := filepath.Join(state, storage.FileName)
	info, err := storage.Inspect(path, time.Second)
	if err != nil {
		return nil, nil, err
	}
	sources, err := Sources(s, state)
	if err != nil {
		return nil, nil, err
	}
	key, src, err := Find(sources, info)
	if err != nil {
		return nil, nil, err
	}
	db, err := storage.Open(path, &storage.Options{Key: key, LockTimeout: time.Second})
	return db, src, err
}

func mustOpen(t *testing.T, state string, s Settings) (*storage.DB, Source) {
	t.Helper()
	db, src, err := open(state, s)
	if err != nil {
		t.Fatal(err)
	}
	return db, src
}

func TestSettingsValidate(t *testing.T) {
	if p := (Settings{Provider: Keyring, File: "/k"}).Validate(); len(p) != 0 {
		t.Errorf("good settings: %q", p)
	}
	p := Settings{Provider: "tpm", File: "rel"}.Validate()
	if len(p) != 2 || !strings.Contains(p[0], `key_provider "tpm"`) || !strings.Contains(p[1], `key_file "rel"`) {
		t.Errorf("bad settings: %q", p)
	}
}

// A new database gets a key file; the same key opens it again; a rekey in
// place replaces it; a key file is never written over with another key.
func TestFileSourceLifecycle(t *testing.T) {
	state, keyFile := keyEnv(t)
	db, src := mustOpen(t, state, Settings{})
	if src.Provider() != File || Warning(src) == "" {
		t.Fatalf("auto without keyring or credential chose %s (warning %q)", src, Warning(src))
	}
	id := db.KeyID()
	db.Close()
	res, err := Rekey(filepath.Join(state, storage.FileName), Settings{}, "")
	if err != nil || res.OldKeyID != id || res.NewKeyID == id {
		t.Fatalf("Rekey = %+v, %v", res, err)
	}
	k, err := readKeyFile(keyFile)
	if err != nil || storage.KeyID(k) != res.NewKeyID {
		t.Fatalf("key file after rekey: %v", err)
	}
	if _, err := (fileSource{path: keyFile}).create(storage.NewKey()); err != nil {
		t.Fatal(err)
	}
	if k2, _ := readKeyFile(keyFile); !bytes.Equal(k, k2) {
		t.Fatal("create overwrote an existing key file")
	}
}

// `xaad rekey --key-provider file` moving the key out of another provider
// (here a systemd credential) when no key file existed: a crash after the
// database was re-sealed but before PATH.new became PATH must not strand
// the database. The next start finds the key in PATH.new and commits it;
// a PATH.new holding some other key is neither used nor touched.
func TestKeyFileRecoversInterruptedMove(t *testing.T) {
	state, keyFile := keyEnv(t)
	creds := t.TempDir()
	oldKey := storage.NewKey()
	if err := os.WriteFile(filepath.Join(creds, CredentialName), []byte(encodeKey(oldKey)), 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	db, src := mustOpen(t, state, Settings{})
	if src.Provider() != Systemd {
		t.Fatalf("first start used %s", src)
	}
	db.Close()

	// What Rekey does up to the crash: the new key pending in the file
	// provider, the database re-sealed under it; no commit.
	to := fileSource{path: keyFile}
	newKey := storage.NewKey()
	if err := to.storePending(newKey); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(state, storage.FileName), &storage.Options{Key: oldKey, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Rekey(newKey); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file before recovery: %v", err)
	}

	// A pending key of another id is not the one: refused, nothing moved.
	if err := writeKeyFile(keyFile+".new", storage.NewKey()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := open(state, Settings{}); !errors.Is(err, storage.ErrWrongKey) {
		t.Fatalf("with an unrelated PATH.new: %v, want ErrWrongKey", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an unrelated PATH.new was committed: %v", err)
	}

	for _, d := range []Settings{{}, {Provider: File}} {
		if err := to.storePending(newKey); err != nil {
			t.Fatal(err)
		}
		os.Remove(keyFile)
		db, src := mustOpen(t, state, d)
		if src.Provider() != File || db.KeyID() != storage.KeyID(newKey) {
			t.Fatalf("key_provider %q: opened with %s from %s, want %s from the key file", d.Provider, db.KeyID(), src, storage.KeyID(newKey))
		}
		db.Close()
		if k, err := readKeyFile(keyFile); err != nil || !bytes.Equal(k, newKey) {
			t.Fatalf("key_provider %q: the pending key was not committed to %s: %v", d.Provider, keyFile, err)
		}
		if _, err := os.Stat(keyFile + ".new"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("key_provider %q: %s.new left behind: %v", d.Provider, keyFile, err)
		}
	}
}
