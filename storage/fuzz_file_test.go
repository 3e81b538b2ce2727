package storage_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/storage"
	"github.com/xaad-dev/xaad/storage/storagetest"
	bolt "go.etcd.io/bbolt"
)

// FuzzDatabaseFile feeds arbitrary files to the checker, Inspect and Open.
// None may panic or fault (a fault in a goroutine of bbolt's own would kill
// the fuzzer outright); each returns a usable database or an error of the
// kind the daemon acts on. A file the checker accepts opens in bbolt
// itself, unguarded, and (once its meta pages are written again, as Open
// does when one is damaged) passes bbolt's consistency check with every
// record read; a file it refuses is refused by Inspect and Open too, and
// left unchanged.
//
// Seeds: testdata/fuzz/FuzzDatabaseFile (written by TestWriteFuzzSeeds)
// and, made afresh, a database written by Open and its damaged copies, all
// with 1 KiB pages: the fuzzer minimises every new input, which takes long
// on the 32 KiB that bbolt's smallest file has with 4 KiB pages.
func FuzzDatabaseFile(f *testing.F) {
	file := smallPages(f, daemonLikeFile(f))
	f.Add(file)
	damages, err := storagetest.Damages(file, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range damages {
		f.Add(d.Data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := writeTemp(t, data)
		checkErr := noFault(t, "CheckFile", func() error { return storage.CheckFile(p, time.Second) })
		if checkErr != nil && !errors.Is(checkErr, storage.ErrCorrupt) {
			t.Fatalf("CheckFile = %v, want nil or ErrCorrupt", checkErr)
		}
		if checkErr == nil && len(data) > 0 {
			boltReadsAll(t, p)
		}
		inspectErr := noFault(t, "Inspect", func() error { _, err := storage.Inspect(p, time.Second); return err })
		if checkErr != nil && !errors.Is(inspectErr, storage.ErrCorrupt) {
			t.Fatalf("Inspect = %v for a file the checker refused (%v)", inspectErr, checkErr)
		}
		openAndUse(t, p, checkErr)
		if checkErr != nil && !bytes.Equal(readFile(t, p), data) {
			t.Fatal("a refused file was changed")
		}
	})
}

// openAndUse opens the file: a refused one must give ErrCorrupt, any other
// error must be one the daemon tells apart (damage, key, newer schema),
// and an opened database must verify or report damage, and store a value.
func openAndUse(t *testing.T, p string, checkErr error) {
	var db *storage.DB
	err := noFault(t, "Open", func() (err error) { db, err = storage.Open(p, keyOpts()); return err })
	if checkErr != nil && !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("Open = %v for a file the checker refused (%v)", err, checkErr)
	}
	if err != nil {
		if !errors.Is(err, storage.ErrCorrupt) && !errors.Is(err, storage.ErrWrongKey) && !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Fatalf("Open = %v, want damage, a key or a schema error", err)
		}
		return
	}
	defer db.Close()
	verr := noFault(t, "Verify", db.Verify)
	if verr != nil && !errors.Is(verr, storage.ErrCorrupt) && !errors.Is(verr, storage.ErrTampered) && !errors.Is(verr, storage.ErrUnknownFormat) {
		t.Fatalf("Verify = %v, want nil or damage", verr)
	}
	if err := noFault(t, "Put", func() error { return db.Put("fuzz", "k", []byte("v")) }); err != nil {
		t.Fatalf("Put into an opened database: %v", err)
	}
	if v, err := db.Get("fuzz", "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

// boltReadsAll opens p with bbolt alone, runs its consistency check and
// reads every key and value of every bucket.
func boltReadsAll(t *testing.T, p string) {
	t.Helper()
	err := noFault(t, "bbolt", func() error {
		b, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
		if err != nil {
			return err
		}
		defer b.Close()
		// As Open heals a file with one damaged meta page: two commits
		// write both meta pages again (a no-op on an intact file).
		for range 2 {
			if err := b.Update(func(*bolt.Tx) error { return nil }); err != nil {
				return err
			}
		}
		return b.View(func(tx *bolt.Tx) error {
			var first error
			for err := range tx.Check() { // drained: its goroutine reads this tx
				if first == nil {
					first = err
				}
			}
			if first != nil {
				return first
			}
			return tx.ForEach(func(_ []byte, bk *bolt.Bucket) error { return readBucket(bk) })
		})
	})
	if err != nil {
		t.Fatalf("the checker accepted a file bbolt finds damaged: %v", err)
	}
}

func readBucket(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return readBucket(b.Bucket(k))
		}
		_ = bytes.Clone(v)
		return nil
	})
}

// noFault runs fn with memory faults turned into panics and fails the test
// on any panic: the code under test must have returned an error instead.
func noFault(t *testing.T, what string, fn func() error) (err error) {
	t.Helper()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	}()
	return fn()
}

// daemonLikeFile writes a database under testKey holding a few records of each
// kind the daemon keeps, a value over a page long and a deleted record,
// and returns its path (in t.TempDir). The database is closed.
func daemonLikeFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, keyOpts())
	if err != nil {
		t.Fatal(err)
	}
	for bucket, kv := range map[string]map[string][]byte{
		"identity": {"current": []byte(`{"v":1,"issuer":"https://idp.example","subject":"alice"}`)},
		"servers":  {"https://a.example/mcp": []byte(`{"v":1}`), "https://b.example/mcp": bytes.Repeat([]byte("s"), 1500)},
		"tokens":   {"https://a.example/mcp\x00": []byte(`{"v":1,"access_token":"at"}`), "gone": []byte("x")},
	} {
		if err := db.PutMany(bucket, kv); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Delete("tokens", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// smallPages copies the database at path into a file with 1 KiB pages,
// deletes a record so that its freelist is not empty, and returns the file
// cut after the pages in use (bbolt grows a file to at least 32 KiB; the
// rest is unused).
func smallPages(t testing.TB, path string) []byte {
	t.Helper()
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	small := filepath.Join(t.TempDir(), "small.db")
	dst, err := bolt.Open(small, 0o600, &bolt.Options{PageSize: 1024, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bolt.Compact(dst, src, 0); err != nil {
		t.Fatal(err)
	}
	err = dst.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("servers")).Delete([]byte("https://b.example/mcp")) })
	if err != nil {
		t.Fatal(err)
	}
	dst.Close()
	b := readFile(t, small)
	l, err := storagetest.ReadLayout(b)
	if err != nil {
		t.Fatal(err)
	}
	return b[:l.Pages*l.PageSize]
}
