package storagetest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

// MustOpen opens a fresh database in t.TempDir, sealed under a fresh random
// key, and fails the test if it cannot. At cleanup it verifies the file
// (bbolt's consistency check and every value opening under the key),
// reopening it if the test closed it, fails the test on any problem, then
// closes it.
func MustOpen(t testing.TB) *storage.DB {
	t.Helper()
	db, _ := MustOpenKey(t)
	return db
}

// MustOpenKey is [MustOpen] that also returns the data key, for tests that
// reopen the file themselves.
func MustOpenKey(t testing.TB) (*storage.DB, []byte) {
	t.Helper()
	key := storage.NewKey()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, &storage.Options{Key: key})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { checkAndClose(t, db, key) })
	return db, key
}

func checkAndClose(t testing.TB, db *storage.DB, key []byte) {
	t.Helper()
	err := db.Verify()
	if errors.Is(err, storage.ErrClosed) {
		reopened, oerr := storage.Open(db.Path(), &storage.Options{Key: key})
		if oerr != nil {
			// A test that rekeyed the file reopens and checks it itself.
			if !errors.Is(oerr, storage.ErrWrongKey) {
				t.Errorf("reopen for consistency check: %v", oerr)
			}
			return
		}
		db = reopened
		err = db.Verify()
	}
	if err != nil {
		t.Errorf("database consistency: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}
