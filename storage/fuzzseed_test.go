package storage_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
	"github.com/xaad-dev/xaad/storage/storagetest"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seeds in testdata/fuzz from freshly made databases")

// TestWriteFuzzSeeds writes the committed seed corpus of the fuzz targets:
//
//	go test ./storage -run TestWriteFuzzSeeds -write-fuzz-seeds
//
// The database seeds are real files (1 KiB pages, sealed under testKey)
// and damaged copies of one; the others are inputs that reach each branch
// of their target's invariants.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		testenv.OptIn(t, "pass -write-fuzz-seeds to rewrite testdata/fuzz")
	}
	file := smallPages(t, daemonLikeFile(t))
	db := map[string][]byte{"sealed": file, "schema-v1": smallPages(t, filepath.Join("testdata", "schema-v1.db"))}
	damages, err := storagetest.Damages(file, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range damages {
		switch d.Name {
		case "truncated to 3 pages", "meta page 1 zeroed", "freelist page overwritten", "every page but the metas random":
			db[strings.ReplaceAll(d.Name, " ", "-")] = d.Data
		}
	}
	for name, data := range db {
		writeSeed(t, "FuzzDatabaseFile", name, data)
	}
	for name, args := range map[string][]any{
		"genuine":         {"2", "", []byte(nil), []byte(nil)},
		"value-changed":   {"2", "", []byte(nil), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		"value-extended":  {"2", "", []byte(nil), bytes.Repeat([]byte{0}, 64)},
		"check-changed":   {"2", "", []byte{0, 1}, []byte(nil)},
		"other-key-id":    {"2", "0123456789abcdef", []byte(nil), []byte(nil)},
		"version-padded":  {"02", "", []byte(nil), []byte(nil)},
		"version-signed":  {"+2", "", []byte(nil), []byte(nil)},
		"version-newer":   {"3", "", []byte(nil), []byte(nil)},
		"schema1-plain":   {"1", "", []byte(nil), []byte(nil)},
		"schema1-tagged":  {"1", "", []byte(nil), []byte{0x01}},
		"no-version":      {"", "", []byte(nil), []byte(nil)},
		"version-garbage": {"two", "", []byte(nil), []byte(nil)},
	} {
		writeSeed(t, "FuzzSchemaRecords", name, args...)
	}
	for name, args := range map[string][]any{
		"token":       {[]byte("secret"), "tokens", "https://mcp.example/mcp", "tokens", "https://mcp.example/mcp2", []byte{0, 0, 1}},
		"split-names": {[]byte(""), "a", "bc", "ab", "c", []byte(nil)},
		"same-slot":   {[]byte{0}, "b", "k", "b", "k", []byte{1}},
		"long":        {bytes.Repeat([]byte("x"), 300), "_meta", "key_check", "identity", "current", bytes.Repeat([]byte{0}, 330)},
	} {
		writeSeed(t, "FuzzSealedValue", name, args...)
	}
}

// writeSeed writes one corpus file in the format of `go test fuzz v1`.
func writeSeed(t *testing.T, target, name string, args ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		default:
			t.Fatalf("no corpus encoding for %T", a)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
