package storage_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	"github.com/xaad-dev/xaad/storage/storagetest"
	bolt "go.etcd.io/bbolt"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "xaad")
	path := filepath.Join(dir, "xaad.db")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	db, key := storagetest.MustOpenKey(t)
	if err := db.Put("b", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := storage.Open(db.Path(), &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if v, err := db2.Get("b", "k"); err != nil || string(v) != "v" {
		t.Fatalf("after reopen Get = %q, %v", v, err)
	}
}

// bbolt locks with flock, which belongs to an open file description: a second
// Open of the same file conflicts even within one process, exactly as a
// second xaad process would.
func TestSecondOpenIsLocked(t *testing.T) {
	db, key := storagetest.MustOpenKey(t)
	// A 1ns timeout makes bbolt give up after its first failed attempt.
	_, err := storage.Open(db.Path(), &storage.Options{LockTimeout: 1, Key: key})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	for _, want := range []string{db.Path(), "another xaad is probably running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The lock is released on Close.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := storage.Open(db.Path(), &storage.Options{LockTimeout: 1, Key: key})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}

func TestNewerSchemaRefusedUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put("b", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("_meta")).Put([]byte("schema_version"), []byte("3"))
	})
	before := readFile(t, path)
	_, err = storage.Open(path, keyOpts())
	if !errors.Is(err, storage.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "version 3") {
		t.Errorf("error %q does not name the file's version", err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Fatal("Open modified a file it refused")
	}
}

func TestForeignBboltFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone-elses"))
		return err
	})
	if _, err := storage.Open(path, keyOpts()); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestCorruptFile(t *testing.T) {
	junk := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(junk)
	for _, size := range []int{len(junk), 100} { // random pages; a torn first page
		path := filepath.Join(t.TempDir(), "xaad.db")
		if err := os.WriteFile(path, junk[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := storage.Open(path, keyOpts())
		if !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("Open of %d random bytes = %v, want ErrCorrupt", size, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := storage.Open("", keyOpts()); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func rawGet(t testing.TB, path, bucket, key string) []byte {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var v []byte
	b.View(func(tx *bolt.Tx) error {
		v = append([]byte(nil), tx.Bucket([]byte(bucket)).Get([]byte(key))...)
		return nil
	})
	return v
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testKey is a fixed data key, so tests can reopen files they wrote.
var testKey = bytes.Repeat([]byte{0x5a}, storage.KeySize)

func keyOpts() *storage.Options { return &storage.Options{Key: testKey} }
