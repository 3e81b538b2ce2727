package daemon

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/xaad-dev/xaad/daemon/keys"
	"github.com/xaad-dev/xaad/storage"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

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

func mustOpenStore(t *testing.T, state string, d DaemonSection) *openedStore {
	t.Helper()
	st, err := openStore(state, d, discard(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// writeKey writes a key file as the file provider does (base64, 0600).
func writeKey(t *testing.T, path string, key []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFromSystemdCredential(t *testing.T) {
	state, keyFile := keyEnv(t)
	creds := t.TempDir()
	key := bytes.Repeat([]byte{0x42}, storage.KeySize) // raw bytes, as `head -c 32 /dev/urandom` makes
	if err := os.WriteFile(filepath.Join(creds, keys.CredentialName), key, 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	st := mustOpenStore(t, state, DaemonSection{})
	if st.source.Provider() != keys.Systemd || st.db.KeyID() != storage.KeyID(key) || len(st.warnings) != 0 {
		t.Fatalf("source %s, key %s, warnings %q", st.source, st.db.KeyID(), st.warnings)
	}
	st.db.Close()
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a key file was written although the credential provides the key")
	}
	// Rekey cannot replace a systemd credential and says what to do.
	_, err := Rekey(RekeyOptions{Config: &FileConfig{}, StateDir: state})
	if err == nil || !strings.Contains(err.Error(), "systemd-creds") {
		t.Fatalf("Rekey = %v", err)
	}
	st = mustOpenStore(t, state, DaemonSection{})
	st.db.Close()
}

func TestKeyFileProvider(t *testing.T) {
	state, keyFile := keyEnv(t)
	st := mustOpenStore(t, state, DaemonSection{})
	if st.source.Provider() != keys.File || len(st.warnings) != 1 || !strings.Contains(st.warnings[0], "weakest") {
		t.Fatalf("source %s, warnings %q", st.source, st.warnings)
	}
	id := st.db.KeyID()
	st.db.Close()
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	st = mustOpenStore(t, state, DaemonSection{})
	if st.db.KeyID() != id {
		t.Fatalf("reopened with key %s, want %s", st.db.KeyID(), id)
	}
	st.db.Close()

	// Rekey: a new key in the file, the database re-sealed under it.
	res, err := Rekey(RekeyOptions{Config: &FileConfig{}, StateDir: state})
	if err != nil || res.OldKeyID != id || res.NewKeyID == id {
		t.Fatalf("Rekey = %+v, %v", res, err)
	}
	st = mustOpenStore(t, state, DaemonSection{})
	if st.db.KeyID() != res.NewKeyID {
		t.Fatalf("after rekey the database has key %s, want %s", st.db.KeyID(), res.NewKeyID)
	}
	st.db.Close()
}

func TestKeyFileRefusals(t *testing.T) {
	state, _ := keyEnv(t)
	inside := DaemonSection{KeyProvider: keys.File, KeyFile: filepath.Join(state, "k")}
	if _, err := openStore(state, inside, discard(), t0); err == nil || !strings.Contains(err.Error(), "inside the state folder") {
		t.Fatalf("key file in the state folder: %v", err)
	}
	loose := filepath.Join(t.TempDir(), "k")
	writeKey(t, loose, storage.NewKey())
	os.Chmod(loose, 0o644)
	if _, err := openStore(state, DaemonSection{KeyProvider: keys.File, KeyFile: loose}, discard(), t0); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable key file: %v", err)
	}
}

// A wrong or missing key refuses to start, says which key is needed, and
// neither changes nor moves the database.
func TestWrongOrMissingKeyRefusesUntouched(t *testing.T) {
	state, keyFile := keyEnv(t)
	st := mustOpenStore(t, state, DaemonSection{})
	if err := st.db.Put("b", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	id := st.db.KeyID()
	st.db.Close()
	path := filepath.Join(state, DBName)
	before, _ := os.ReadFile(path)

	writeKey(t, keyFile, storage.NewKey())
	_, err := openStore(state, DaemonSection{}, discard(), t0)
	if !errors.Is(err, storage.ErrWrongKey) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "changed nothing") {
		t.Fatalf("wrong key: %v", err)
	}
	os.Remove(keyFile)
	_, err = openStore(state, DaemonSection{}, discard(), t0)
	if !errors.Is(err, storage.ErrWrongKey) || !strings.Contains(err.Error(), id) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a new key was made for a database sealed with another one")
	}
	after, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(state)
	if !bytes.Equal(before, after) || len(entries) != 1 {
		t.Fatalf("the database was changed or moved: %d entries in the state folder", len(entries))
	}
}

// A damaged file is moved aside, a new one started, and Status told.
func TestDamagedDatabaseMovedAside(t *testing.T) {
	for _, damage := range []string{"junk", "tampered value"} {
		t.Run(damage, func(t *testing.T) {
			state, _ := keyEnv(t)
			path := filepath.Join(state, DBName)
			if damage == "junk" {
				os.MkdirAll(state, 0o700)
				os.WriteFile(path, bytes.Repeat([]byte("junk"), 4096), 0o600)
			} else {
				st := mustOpenStore(t, state, DaemonSection{})
				st.db.Put("tokens", "k", []byte("v"))
				st.db.Close()
				flipLastByte(t, path, "tokens", "k")
			}
			before, _ := os.ReadFile(path)
			st := mustOpenStore(t, state, DaemonSection{})
			defer st.db.Close()
			moved := path + ".corrupt-20261126T100000Z"
			if got, err := os.ReadFile(moved); err != nil || !bytes.Equal(got, before) {
				t.Fatalf("the damaged file was not kept at %s: %v", moved, err)
			}
			if len(st.warnings) < 1 || !strings.Contains(st.warnings[0], moved) || !strings.Contains(st.warnings[0], "sign in again") {
				t.Fatalf("warnings %q", st.warnings)
			}
			if err := st.db.Put("b", "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func flipLastByte(t *testing.T, path, bucket, key string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		v := append([]byte(nil), bk.Get([]byte(key))...)
		v[len(v)-1] ^= 1
		return bk.Put([]byte(key), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}
