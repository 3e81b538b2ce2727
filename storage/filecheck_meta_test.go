package storage_test

import (
	"bytes"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	"github.com/xaad-dev/xaad/storage/storagetest"
)

// A meta page zeroed on disk (a torn write of it) while the other is
// valid is what bbolt's two metas are for: bbolt opens the file with the
// valid one, and so does Open. Zeroing the previous commit's meta loses
// nothing; zeroing the current one loses only the last commit. Either
// way the file is healed (both metas written again), so bbolt's own check
// passes, and it opens again as it is.
func TestZeroedMetaPageLosesNothing(t *testing.T) {
	path, key := storagetest.Populated(t)
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put("servers", "last", []byte("the last commit")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := readFile(t, path)
	l, err := storagetest.ReadLayout(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		meta     int
		keepLast bool
	}{{"the previous meta", 1 - l.Current, true}, {"the current meta", l.Current, false}} {
		t.Run(tc.name, func(t *testing.T) {
			d := bytes.Clone(file)
			clear(d[tc.meta*l.PageSize : (tc.meta+1)*l.PageSize])
			p := writeTemp(t, d)
			if err := storage.CheckFile(p, 0); err != nil {
				t.Fatalf("CheckFile: %v", err)
			}
			if _, err := storage.Inspect(p, 0); err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			for round := range 2 { // healed, then as it is
				db, err := storage.Open(p, &storage.Options{Key: key})
				if err != nil {
					t.Fatalf("open %d: %v", round, err)
				}
				if err := db.Verify(); err != nil {
					t.Fatalf("verify %d: %v", round, err)
				}
				if v, err := db.Get("identity", "current"); err != nil || !bytes.Equal(v, bytes.Repeat([]byte("j"), 700)) {
					t.Fatalf("identity after open %d: %d bytes, %v", round, len(v), err)
				}
				_, err = db.Get("servers", "last")
				db.Close()
				if tc.keepLast != (err == nil) {
					t.Fatalf("open %d: Get of the last commit = %v", round, err)
				}
			}
			healed := readFile(t, p)
			for i := range 2 {
				if le.Uint64(healed[i*l.PageSize:]) != uint64(i) || le.Uint16(healed[i*l.PageSize+8:]) != 0x04 {
					t.Errorf("meta page %d is not a meta page after the open", i)
				}
			}
		})
	}
}
