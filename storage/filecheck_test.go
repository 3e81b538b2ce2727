package storage_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/storage"
	"github.com/xaad-dev/xaad/storage/storagetest"
)

var le = binary.NativeEndian

func TestCheckFileAcceptsIntactFiles(t *testing.T) {
	populated, _ := storagetest.Populated(t)
	fresh := storagetest.MustOpen(t)
	fresh.Close()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{populated, fresh.Path(), filepath.Join("testdata", "schema-v1.db"), empty, filepath.Join(dir, "missing.db")} {
		if err := storage.CheckFile(path, 0); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// Every damage of a real file is refused by the checker, Inspect and Open
// alike, with ErrCorrupt and the file unchanged; a truncation that keeps
// every page in use is harmless and loses nothing.
func TestDamagedFilesRefused(t *testing.T) {
	path, key := storagetest.Populated(t)
	file := readFile(t, path)
	damages, err := storagetest.Damages(file, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	damages = append(damages, craftedDamages(t, file)...)
	harmless := 0
	for _, d := range damages {
		t.Run(d.Name, func(t *testing.T) {
			p := writeTemp(t, d.Data)
			if d.Harmless {
				harmless++
				expectIntact(t, p, key)
				return
			}
			if d.Fallback {
				expectOpens(t, p, key)
				return
			}
			expectRefused(t, p, key, d.Data)
		})
	}
	if harmless == 0 {
		t.Error("no truncation left every page in use; the file was expected to have room to spare")
	}
}

func expectRefused(t *testing.T, path string, key, data []byte) {
	t.Helper()
	if err := storage.CheckFile(path, 0); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("CheckFile = %v, want ErrCorrupt", err)
	}
	if _, err := storage.Inspect(path, 0); !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("Inspect = %v, want ErrCorrupt", err)
	}
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err == nil {
		db.Close()
	}
	if !errors.Is(err, storage.ErrCorrupt) {
		t.Errorf("Open = %v, want ErrCorrupt", err)
	}
	if !bytes.Equal(readFile(t, path), data) {
		t.Error("the refused file was changed")
	}
}

// expectOpens is expectIntact for a file that lost its last commit: what
// it holds then is not known, only that it is whole.
func expectOpens(t *testing.T, path string, key []byte) {
	t.Helper()
	if err := storage.CheckFile(path, 0); err != nil {
		t.Fatalf("CheckFile: %v", err)
	}
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}

func expectIntact(t *testing.T, path string, key []byte) {
	t.Helper()
	if err := storage.CheckFile(path, 0); err != nil {
		t.Fatalf("CheckFile: %v", err)
	}
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get("identity", "current"); err != nil || !bytes.Equal(v, bytes.Repeat([]byte("j"), 700)) {
		t.Fatalf("identity after reopening: %d bytes, %v", len(v), err)
	}
}

// craftedDamages are the damages a random overwrite rarely produces: meta
// pages with valid checksums that point outside the file, and single wrong
// fields in pages bbolt would follow.
func craftedDamages(t *testing.T, file []byte) []storagetest.Damage {
	l, err := storagetest.ReadLayout(file)
	if err != nil {
		t.Fatal(err)
	}
	ps := l.PageSize
	meta := func(f []byte, i int) []byte { return f[i*ps+16 : i*ps+16+64] }
	cur := func(f func(m []byte)) []byte {
		d := bytes.Clone(file)
		m := meta(d, l.Current)
		f(m)
		resum(m)
		return d
	}
	page := func(f func(p []byte)) []byte {
		d := bytes.Clone(file)
		f(d)
		return d
	}
	root := int(le.Uint64(meta(file, l.Current)[16:]))
	rootLeaf := file[root*ps : (root+1)*ps]
	tokens := int(le.Uint64(rootLeaf[bucketValue(t, rootLeaf, "tokens"):]))
	identity := root*ps + bucketValue(t, rootLeaf, "identity") // inline: 700 bytes
	if le.Uint64(file[identity:]) != 0 {
		t.Fatal("the identity bucket is not inline")
	}
	inline := identity + 16
	if le.Uint16(file[tokens*ps+8:]) != 0x01 {
		t.Fatal("the tokens bucket's root is not a branch page")
	}
	free := file[l.Freelist*ps:]
	nfree := int(le.Uint16(free[10:]))
	if nfree == 0 || 16+8*(nfree+1) > ps {
		t.Fatalf("the populated file's freelist has %d pages", nfree)
	}
	return []storagetest.Damage{
		{Name: "root page past the pages in use", Data: cur(func(m []byte) { le.PutUint64(m[16:], uint64(l.Pages)) })},
		{Name: "freelist page past the pages in use", Data: cur(func(m []byte) { le.PutUint64(m[32:], uint64(l.Pages+3)) })},
		{Name: "more pages in use than the file holds", Data: cur(func(m []byte) { le.PutUint64(m[40:], uint64(len(file)/ps+1)) })},
		{Name: "page size not a power of two", Data: cur(func(m []byte) { le.PutUint32(m[8:], 3000) })},
		// bbolt reads the meta's body alone; the header is written again.
		{Name: "meta page 1 calls itself page 7", Harmless: true, Data: page(func(d []byte) { le.PutUint64(d[ps:], 7) })},
		{Name: "both metas torn", Data: page(func(d []byte) { d[16+60]++; d[ps+16+60]++ })},
		{Name: "freelist lists the root page", Data: page(func(d []byte) { le.PutUint64(d[l.Freelist*ps+16:], uint64(root)) })},
		{Name: "freelist lists page 1", Data: page(func(d []byte) { le.PutUint64(d[l.Freelist*ps+16:], 1) })},
		{Name: "freelist count past its page", Data: page(func(d []byte) {
			le.PutUint16(d[l.Freelist*ps+10:], 0xFFFF)
			le.PutUint64(d[l.Freelist*ps+16:], 1<<40)
		})},
		{Name: "freelist count in its first slot", Harmless: true, Data: page(func(d []byte) {
			// How bbolt writes a freelist of 0xFFFF pages or more.
			f := d[l.Freelist*ps:]
			copy(f[24:], bytes.Clone(f[16:16+8*nfree]))
			le.PutUint16(f[10:], 0xFFFF)
			le.PutUint64(f[16:], uint64(nfree))
		})},
		{Name: "inline bucket page not a leaf", Data: page(func(d []byte) { le.PutUint16(d[inline+8:], 0x01) })},
		{Name: "inline bucket entry past the value", Data: page(func(d []byte) { le.PutUint32(d[inline+16+12:], 1<<20) })},
		{Name: "inline bucket holds a bucket", Data: page(func(d []byte) { le.PutUint32(d[inline+16:], 1) })},
		{Name: "root leaf key offset past the page", Data: page(func(d []byte) { le.PutUint32(d[root*ps+16+4:], 0xFFFFFF00) })},
		{Name: "root leaf entry is a plain value", Data: page(func(d []byte) { le.PutUint32(d[root*ps+16:], 0) })},
		{Name: "branch child past the pages in use", Data: page(func(d []byte) { le.PutUint64(d[tokens*ps+16+8:], uint64(l.Pages+1)) })},
		{Name: "branch child is a meta page", Data: page(func(d []byte) { le.PutUint64(d[tokens*ps+16+8:], 1) })},
		{Name: "branch page calls itself another", Data: page(func(d []byte) { le.PutUint64(d[tokens*ps:], uint64(root)) })},
		{Name: "branch keys out of order", Data: page(func(d []byte) {
			e := tokens*ps + 16
			d[e+int(le.Uint32(d[e:]))+len("https://mcp")] = 'z'
		})},
	}
}

// A meta page whose checksum fails is a write torn by a power cut: bbolt
// falls back to the other meta page, the previous commit, and so does the
// checker. Only that last commit is lost.
func TestTornMetaFallsBackToThePreviousCommit(t *testing.T) {
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
		meta     int
		keepLast bool
	}{{l.Current, false}, {1 - l.Current, true}} {
		d := bytes.Clone(file)
		d[tc.meta*l.PageSize+16+60]++ // in the checksum
		p := writeTemp(t, d)
		expectIntact(t, p, key)
		db, err := storage.Open(p, &storage.Options{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Get("servers", "last")
		db.Close()
		if tc.keepLast != (err == nil) {
			t.Errorf("meta %d torn (current %d): Get of the last commit = %v", tc.meta, l.Current, err)
		}
	}
}

// While a daemon holds the file, nothing reads it as damaged: the checker
// waits for the lock like bbolt and gives up with ErrLocked.
func TestCheckFileWaitsForTheLock(t *testing.T) {
	db := storagetest.MustOpen(t)
	if err := storage.CheckFile(db.Path(), 1); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("CheckFile = %v, want ErrLocked", err)
	}
	if _, err := storage.Inspect(db.Path(), 1); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("Inspect = %v, want ErrLocked", err)
	}
}

// bucketValue finds a top-level bucket in the root leaf page and returns
// the offset of its value (bucket header, then an inline page if its root
// is 0) in the page.
func bucketValue(t *testing.T, leaf []byte, name string) int {
	t.Helper()
	for i := range int(le.Uint16(leaf[10:])) {
		e := 16 + 16*i
		pos, ks := int(le.Uint32(leaf[e+4:])), int(le.Uint32(leaf[e+8:]))
		if string(leaf[e+pos:e+pos+ks]) == name {
			return e + pos + ks
		}
	}
	t.Fatalf("no bucket %s in the root leaf", name)
	return 0
}

// resum recomputes a meta page's checksum (FNV-64a of the fields before it).
func resum(m []byte) {
	h := fnv.New64a()
	h.Write(m[:56])
	le.PutUint64(m[56:], h.Sum64())
}

func writeTemp(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "xaad.db")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A read error is not damage: the daemon moves a damaged file aside, and
// must not do that to a file it merely failed to read.
func TestReadErrorIsNotDamage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "xaad.db")
	if err := os.MkdirAll(filepath.Join(dir, "entry"), 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Size() == 0 {
		t.Skipf("a directory on this file system has no size to read: %v", err)
	}
	for name, err := range map[string]error{
		"CheckFile": storage.CheckFile(dir, 0),
		"Inspect":   func() error { _, err := storage.Inspect(dir, 0); return err }(),
	} {
		if err == nil || errors.Is(err, storage.ErrCorrupt) {
			t.Errorf("%s of a directory = %v, want a read error", name, err)
		}
	}
}

// Random changes to the structure of a real file: page headers and the
// first elements of pages, and meta fields with their checksum made right
// again (which random bytes alone never achieve). Whatever the checker
// accepts, bbolt opens, checks and reads without a fault, and Open and
// Verify give a usable database or a damage error; nothing panics.
func TestStructuralMutations(t *testing.T) {
	path, _ := storagetest.Populated(t)
	file := readFile(t, path)
	l, err := storagetest.ReadLayout(file)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 300 {
		d := bytes.Clone(file)
		for range rng.IntN(3) + 1 {
			off := rng.IntN(len(d)/l.PageSize)*l.PageSize + rng.IntN(120)
			switch rng.IntN(3) {
			case 0:
				d[off] = byte(rng.Uint32())
			case 1:
				le.PutUint16(d[off:], uint16(rng.IntN(70000)))
			case 2:
				le.PutUint64(d[off:], uint64(rng.IntN(l.Pages+10)))
			}
		}
		if rng.IntN(2) == 0 {
			m := d[rng.IntN(2)*l.PageSize+16:][:64]
			if f := []int{8, 16, 32, 40, 48}[rng.IntN(5)]; f == 8 {
				le.PutUint32(m[8:], uint32(1024<<rng.IntN(5)))
			} else {
				le.PutUint64(m[f:], uint64(rng.IntN(l.Pages+10)))
			}
			resum(m)
		}
		p := writeTemp(t, d)
		err := noFault(t, "CheckFile", func() error { return storage.CheckFile(p, 0) })
		if err != nil && !errors.Is(err, storage.ErrCorrupt) {
			t.Fatal(err)
		}
		if err == nil {
			boltReadsAll(t, p)
		}
		openAndUse(t, p, err)
	}
}
