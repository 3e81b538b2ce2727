package storagetest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

// Populated writes a closed database in t.TempDir shaped like a daemon's
// after some use: a few buckets, one big enough for branch pages, a value
// spanning overflow pages, and deleted and rewritten records, so the
// freelist is not empty. It returns the file's path and its key.
func Populated(t testing.TB) (string, []byte) {
	t.Helper()
	key := storage.NewKey()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	put := func(bucket, k string, v []byte) {
		t.Helper()
		if err := db.Put(bucket, k, v); err != nil {
			t.Fatal(err)
		}
	}
	put("identity", "current", bytes.Repeat([]byte("i"), 600))
	for i := range 200 {
		put("tokens", fmt.Sprintf("https://mcp%03d.example/mcp", i), bytes.Repeat([]byte{byte(i)}, 200))
	}
	for i := range 20 {
		put("servers", fmt.Sprintf("https://mcp%03d.example/mcp", i), bytes.Repeat([]byte("s"), 300))
	}
	put("servers", "big", bytes.Repeat([]byte("b"), 12<<10))
	for i := range 50 {
		if err := db.Delete("tokens", fmt.Sprintf("https://mcp%03d.example/mcp", 3*i)); err != nil {
			t.Fatal(err)
		}
	}
	put("identity", "current", bytes.Repeat([]byte("j"), 700))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, key
}
