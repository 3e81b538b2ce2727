package storage_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	bolt "go.etcd.io/bbolt"
)

const secret = "refresh-token-very-secret-0123456789"

// sealedFile writes secret to b/k and c/k of a new file under testKey and
// closes it.
func sealedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"b", "c"} {
		if err := db.PutMany(b, map[string][]byte{"k": []byte(secret), "j": []byte("other")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func reopen(t *testing.T, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A copy of the file alone reveals nothing: no plaintext anywhere in it.
func TestValuesSealedAtRest(t *testing.T) {
	path := sealedFile(t)
	if raw := readFile(t, path); bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("other")) {
		t.Fatal("plaintext found in the database file")
	}
	if v := rawGet(t, path, "b", "k"); v[0] != storage.FormatAESGCM {
		t.Fatalf("stored value starts with 0x%02x, want FormatAESGCM", v[0])
	}
	db := reopen(t, path)
	if v, err := db.Get("b", "k"); err != nil || string(v) != secret {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if m, err := db.List("c"); err != nil || string(m["j"]) != "other" {
		t.Fatalf("List = %q, %v", m, err)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedValueRefused(t *testing.T) {
	for _, pos := range []string{"tag", "nonce", "ciphertext", "auth tag", "truncated"} {
		t.Run(pos, func(t *testing.T) {
			path := sealedFile(t)
			v := rawGet(t, path, "b", "k")
			switch pos {
			case "tag":
				v[0] = storage.FormatPlain
			case "nonce":
				v[3] ^= 1
			case "ciphertext":
				v[20] ^= 1
			case "auth tag":
				v[len(v)-1] ^= 1
			case "truncated":
				v = v[:10]
			}
			rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), v) })
			db := reopen(t, path)
			_, err := db.Get("b", "k")
			want := storage.ErrTampered
			if pos == "tag" {
				want = storage.ErrUnknownFormat
			}
			if !errors.Is(err, want) {
				t.Fatalf("Get = %v, want %v", err, want)
			}
			if !strings.Contains(err.Error(), "b/k") || strings.Contains(err.Error(), secret) {
				t.Errorf("error %q should name the slot and nothing of the value", err)
			}
			if _, err := db.List("b"); !errors.Is(err, want) {
				t.Fatalf("List = %v, want %v", err, want)
			}
			if err := db.Verify(); !errors.Is(err, want) {
				t.Fatalf("Verify = %v, want %v", err, want)
			}
			if v, err := db.Get("b", "j"); err != nil || string(v) != "other" {
				t.Fatalf("an untouched neighbour: %q, %v", v, err)
			}
		})
	}
}

// The additional data binds bucket and key: a sealed value copied to
// another slot does not open there.
func TestValueMovedRefused(t *testing.T) {
	for _, to := range []struct{ bucket, key string }{{"b", "moved"}, {"c", "k2"}, {"c", "j"}, {"other", "k"}} {
		path := sealedFile(t)
		v := rawGet(t, path, "b", "k")
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(to.bucket))
			if err != nil {
				return err
			}
			return b.Put([]byte(to.key), v)
		})
		db := reopen(t, path)
		if got, err := db.Get(to.bucket, to.key); !errors.Is(err, storage.ErrTampered) {
			t.Fatalf("value moved to %s/%s: Get = %q, %v; want ErrTampered", to.bucket, to.key, got, err)
		}
	}
}

func TestWrongKeyRefusedUntouched(t *testing.T) {
	path := sealedFile(t)
	before := readFile(t, path)
	other := bytes.Repeat([]byte{1}, storage.KeySize)
	_, err := storage.Open(path, &storage.Options{Key: other})
	if !errors.Is(err, storage.ErrWrongKey) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey", err)
	}
	for _, want := range []string{storage.KeyID(testKey), storage.KeyID(other), path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := storage.Open(path, nil); !errors.Is(err, storage.ErrNoKey) {
		t.Fatalf("Open without a key = %v, want ErrNoKey", err)
	}
	if _, err := storage.Open(path, &storage.Options{Key: []byte("short")}); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("Open with a short key = %v", err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Fatal("a refused Open modified the file")
	}
	if info, err := storage.Inspect(path, 0); err != nil || info.KeyID != storage.KeyID(testKey) || info.Version != storage.SchemaVersion {
		t.Fatalf("Inspect = %+v, %v", info, err)
	}
}

// A damaged key check with the right key id is damage, not a wrong key.
func TestDamagedKeyCheckIsCorrupt(t *testing.T) {
	path := sealedFile(t)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		m := tx.Bucket([]byte("_meta"))
		v := append([]byte(nil), m.Get([]byte("key_check"))...)
		v[len(v)-1] ^= 1
		return m.Put([]byte("key_check"), v)
	})
	if _, err := storage.Open(path, keyOpts()); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestRekey(t *testing.T) {
	path := sealedFile(t)
	oldRaw := rawGet(t, path, "b", "k")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	next := storage.NewKey()
	if err := db.Rekey(next); err != nil {
		t.Fatal(err)
	}
	if db.KeyID() != storage.KeyID(next) {
		t.Errorf("KeyID = %s after rekey", db.KeyID())
	}
	// The open handle keeps working under the new key.
	if err := db.Put("b", "new", []byte("n")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if bytes.Equal(oldRaw, rawGet(t, path, "b", "k")) {
		t.Fatal("value not re-sealed")
	}
	// Compacted: the old sealed bytes are not left in a freed page.
	if bytes.Contains(readFile(t, path), oldRaw[13:]) {
		t.Fatal("the value sealed under the old key is still in the file")
	}
	if _, err := storage.Open(path, keyOpts()); !errors.Is(err, storage.ErrWrongKey) {
		t.Fatalf("old key after rekey: %v, want ErrWrongKey", err)
	}
	db, err = storage.Open(path, &storage.Options{Key: next})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k": secret, "j": "other", "new": "n"} {
		if v, err := db.Get("b", k); err != nil || string(v) != want {
			t.Errorf("Get(b, %s) = %q, %v", k, v, err)
		}
	}
}

// A rekey that meets a damaged value changes nothing: the old key still
// opens every value.
func TestRekeyAllOrNothing(t *testing.T) {
	path := sealedFile(t)
	v := rawGet(t, path, "c", "k")
	v[len(v)-1] ^= 1
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte("c")).Put([]byte("k"), v) })
	before := readFile(t, path)
	db := reopen(t, path)
	if err := db.Rekey(storage.NewKey()); !errors.Is(err, storage.ErrTampered) {
		t.Fatalf("Rekey = %v, want ErrTampered", err)
	}
	if got, err := db.Get("b", "k"); err != nil || string(got) != secret {
		t.Fatalf("after a failed rekey Get = %q, %v", got, err)
	}
	db.Close()
	if !bytes.Equal(before, readFile(t, path)) {
		t.Fatal("a failed rekey changed the file")
	}
}

func TestMoveAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "xaad.db")
	var moved []string
	for range 2 {
		if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
		to, err := storage.MoveAside(path, fixedTime)
		if err != nil {
			t.Fatal(err)
		}
		moved = append(moved, to)
	}
	if moved[0] != path+".corrupt-20261126T101500Z" || moved[1] != moved[0]+"-1" {
		t.Fatalf("moved to %q", moved)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the damaged file is still in place")
	}
	for _, m := range moved {
		if string(readFile(t, m)) != "junk" {
			t.Fatalf("%s lost its bytes", m)
		}
	}
}
