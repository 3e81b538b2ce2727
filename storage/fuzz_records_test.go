package storage_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	bolt "go.etcd.io/bbolt"
)

// recordPlain is the value the genuine records seal at b/k.
const recordPlain = "a token record"

// genuineRecords are the records a real database under testKey holds.
type genuineRecords struct {
	keyID, keyCheck, sealed []byte
}

func makeGenuineRecords(t testing.TB) genuineRecords {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put("b", "k", []byte(recordPlain)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return genuineRecords{
		keyID:    rawGet(t, path, "_meta", "key_id"),
		keyCheck: rawGet(t, path, "_meta", "key_check"),
		sealed:   rawGet(t, path, "b", "k"),
	}
}

// FuzzSchemaRecords opens files whose records were changed: the schema
// version as given, a key id (empty: the genuine one), the key check and a
// value XORed with a tamper mask (bytes of the mask past the end are
// appended). A file
// opens only with a version this code wrote ("1" or "2", nothing else that
// Atoi would take), the right key id and an untouched key check; a value
// reads back only untouched, and then as sealed. A schema-1 value opens
// only as FormatPlain. A refused file is left as it was. Seeds:
// testdata/fuzz/FuzzSchemaRecords (written by TestWriteFuzzSeeds).
func FuzzSchemaRecords(f *testing.F) {
	g := makeGenuineRecords(f)
	f.Fuzz(func(t *testing.T, version, keyID string, checkTamper, valueTamper []byte) {
		if keyID == "" {
			keyID = string(g.keyID)
		}
		value := storage.XORMask(g.sealed, valueTamper)
		if version == "1" {
			value = storage.XORMask(append([]byte{storage.FormatPlain}, recordPlain...), valueTamper)
		}
		check := storage.XORMask(g.keyCheck, checkTamper)
		genuineKey := keyID == string(g.keyID) && bytes.Equal(check, g.keyCheck)
		path := recordsFile(t, version, keyID, check, value)
		before := readFile(t, path)
		var db *storage.DB
		err := noFault(t, "Open", func() (err error) { db, err = storage.Open(path, keyOpts()); return err })
		if err != nil {
			expectRefusedRecords(t, err, version, genuineKey, value)
			if !bytes.Equal(before, readFile(t, path)) {
				t.Fatal("Open changed a file it refused")
			}
			return
		}
		defer db.Close()
		switch {
		case version == "1" && (len(value) == 0 || value[0] != storage.FormatPlain):
			t.Fatalf("a schema-1 file with a value tagged %x opened", value[:min(1, len(value))])
		case version == "2" && !genuineKey:
			t.Fatalf("opened with key id %q and a key check tampered by %x", keyID, checkTamper)
		case version != "1" && version != "2":
			t.Fatalf("opened a file of schema version %q", version)
		}
		v, err := db.Get("b", "k")
		want := recordPlain
		if version == "1" {
			want = string(value[1:])
		} else if !bytes.Equal(value, g.sealed) {
			if err == nil {
				t.Fatalf("a value tampered by %x read back as %q", valueTamper, v)
			}
			return
		}
		if err != nil || string(v) != want {
			t.Fatalf("Get = %q, %v, want %q", v, err, want)
		}
	})
}

// expectRefusedRecords checks why Open refused: a newer schema as such,
// else damage or the key; a genuine schema-2 file must not be refused.
func expectRefusedRecords(t *testing.T, err error, version string, genuineKey bool, value []byte) {
	t.Helper()
	n, convErr := strconv.Atoi(version)
	canonical := convErr == nil && strconv.Itoa(n) == version
	switch {
	case version == "2" && genuineKey:
		t.Fatalf("a genuine schema-2 file was refused: %v", err)
	case version == "1" && len(value) > 0 && value[0] == storage.FormatPlain:
		t.Fatalf("a schema-1 file of plain values was refused: %v", err)
	case canonical && n > storage.SchemaVersion:
		if !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Fatalf("Open of schema %d = %v, want ErrSchemaTooNew", n, err)
		}
	case !errors.Is(err, storage.ErrCorrupt) && !errors.Is(err, storage.ErrWrongKey):
		t.Fatalf("Open = %v, want damage or a wrong key", err)
	}
}

// recordsFile writes a bbolt file with the given _meta records (an empty
// version: none) and one value at b/k; a schema-1 file has no key records.
func recordsFile(t *testing.T, version, keyID string, keyCheck, value []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xaad.db")
	b, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("_meta"))
		if err != nil {
			return err
		}
		records := map[string][]byte{"schema_version": []byte(version)}
		if version != "1" {
			records["key_id"], records["key_check"] = []byte(keyID), keyCheck
		}
		for k, v := range records {
			if len(v) > 0 {
				if err := meta.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		bk, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return bk.Put([]byte("k"), value)
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}
