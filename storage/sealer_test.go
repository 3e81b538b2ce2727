package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	bolt "go.etcd.io/bbolt"
)

func TestPlainSealerFramesValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put("b", "k", []byte("value")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got, want := rawGet(t, path, "b", "k"), append([]byte{storage.FormatPlain}, "value"...); !bytes.Equal(got, want) {
		t.Fatalf("stored bytes = %q, want %q", got, want)
	}
}

// A value in a format the sealer does not know (here the tag reserved for
// AES-GCM) is refused, never returned as if it were plaintext.
func TestPlainSealerRefusesOtherFormats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte{0x01, 'c', 't'})
	})
	db, err = storage.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get("b", "k"); !errors.Is(err, storage.ErrUnknownFormat) {
		t.Fatalf("Get = %v, want ErrUnknownFormat", err)
	}
	if _, err := db.List("b"); !errors.Is(err, storage.ErrUnknownFormat) {
		t.Fatalf("List = %v, want ErrUnknownFormat", err)
	}
}

// xorSealer stands in for the AES-GCM sealer: it changes the bytes and binds
// bucket and key, which is enough to see that storage applies it both ways.
type xorSealer struct{}

const xorTag = 0x7f

func (xorSealer) Seal(bucket, key string, p []byte) ([]byte, error) {
	out := append([]byte{xorTag}, []byte(bucket+"/"+key+"|")...)
	for _, c := range p {
		out = append(out, c^0xaa)
	}
	return out, nil
}

func (xorSealer) Open(bucket, key string, s []byte) ([]byte, error) {
	prefix := append([]byte{xorTag}, []byte(bucket+"/"+key+"|")...)
	if !bytes.HasPrefix(s, prefix) {
		return nil, fmt.Errorf("not sealed for %s/%s", bucket, key)
	}
	out := s[len(prefix):]
	for i := range out {
		out[i] ^= 0xaa
	}
	return out, nil
}

func TestCustomSealerAppliedBothWays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xaad.db")
	opts := &storage.Options{Sealer: xorSealer{}}
	db, err := storage.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutMany("b", map[string][]byte{"k": []byte("secret"), "j": []byte("other")}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get("b", "k"); err != nil || string(v) != "secret" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if m, err := db.List("b"); err != nil || string(m["j"]) != "other" {
		t.Fatalf("List = %q, %v", m, err)
	}
	db.Close()

	raw := rawGet(t, path, "b", "k")
	if raw[0] != xorTag || bytes.Contains(raw, []byte("secret")) {
		t.Fatalf("stored bytes %q are not sealed", raw)
	}
	// Moving a sealed value to another key must not open as plaintext.
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("moved"), raw) })
	db, err = storage.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get("b", "moved"); err == nil {
		t.Fatalf("a value moved to another key opened: %q", v)
	}
}
