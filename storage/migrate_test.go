package storage_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/storage"
	bolt "go.etcd.io/bbolt"
)

var fixedTime = time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)

// fixture copies testdata/schema-vN.db, a file written by the xaad of that
// schema, into a temp dir.
func fixture(t *testing.T, version int) string {
	t.Helper()
	src := filepath.Join("testdata", "schema-v"+string(rune('0'+version))+".db")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "xaad.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureV1 is what testdata/schema-v1.db holds (written by the schema-1
// code of commit 5f552f1 through storage.Put).
var fixtureV1 = map[string]map[string]string{
	"identity": {"current": `{"v":1,"id_token":"eyJfixture.id.token","refresh_token":"rt-fixture-secret","issuer":"https://idp.example","subject":"alice"}`},
	"servers":  {"https://mcp.example/mcp": `{"v":1,"url":"https://mcp.example/mcp"}`},
	"tokens": {
		"https://mcp.example/mcp\x00":    `{"v":1,"access_token":"at-fixture-secret"}`,
		"https://mcp.example/mcp\x00a b": `{"v":1,"access_token":"at-fixture-secret-2"}`,
		"empty":                          "",
	},
}

// Every earlier schema opens, migrates in place, and reads back the same.
func TestOpenEveryEarlierSchema(t *testing.T) {
	for v := 1; v < storage.SchemaVersion; v++ {
		path := fixture(t, v)
		if info, err := storage.Inspect(path, 0); err != nil || info.Version != v || info.KeyID != "" {
			t.Fatalf("v%d fixture: Inspect = %+v, %v", v, info, err)
		}
		db, err := storage.Open(path, keyOpts())
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		for bucket, want := range fixtureV1 {
			got, err := db.List(bucket)
			if err != nil {
				t.Fatalf("v%d List(%s): %v", v, bucket, err)
			}
			if len(got) != len(want) {
				t.Errorf("v%d %s: %d records, want %d", v, bucket, len(got), len(want))
			}
			for k, w := range want {
				if string(got[k]) != w {
					t.Errorf("v%d %s/%q = %q, want %q", v, bucket, k, got[k], w)
				}
			}
		}
		if err := db.Verify(); err != nil {
			t.Fatal(err)
		}
		db.Close()
		raw := readFile(t, path)
		for _, s := range []string{"rt-fixture-secret", "at-fixture-secret", "eyJ"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("v%d: %q still readable in the file after migration", v, s)
			}
		}
		if info, err := storage.Inspect(path, 0); err != nil || info.Version != storage.SchemaVersion || info.KeyID != storage.KeyID(testKey) {
			t.Fatalf("after migration: Inspect = %+v, %v", info, err)
		}
	}
}

// A migration that fails midway leaves the file exactly as it was.
func TestMigrationAllOrNothing(t *testing.T) {
	path := fixture(t, 1)
	// "zzz" sorts after the good buckets, so some values were already
	// re-sealed in the transaction when this one fails.
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("zzz"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte{0x42, 'x'})
	})
	before := readFile(t, path)
	_, err := storage.Open(path, keyOpts())
	if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), "migrate schema 1 to 2") {
		t.Fatalf("Open = %v, want a failed migration (ErrCorrupt)", err)
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Fatal("a failed migration changed the file")
	}
}

// The schema version is part of each value's additional data: a sealed file
// relabelled as an older schema does not get "migrated" a second time.
func TestRelabelledVersionRefused(t *testing.T) {
	path := sealedFile(t)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("_meta")).Put([]byte("schema_version"), []byte("1"))
	})
	if _, err := storage.Open(path, keyOpts()); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}
