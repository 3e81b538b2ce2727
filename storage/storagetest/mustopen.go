package storagetest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/xaad-dev/xaad/storage"
)

// MustOpen opens a fresh database in t.TempDir and fails the test if it
// cannot. At cleanup it runs bbolt's consistency check (reopening the file if
// the test closed it) and fails the test on any problem, then closes it.
func MustOpen(t testing.TB) *storage.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xaad.db")
	db, err := storage.Open(path, nil)
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { checkAndClose(t, db) })
	return db
}

func checkAndClose(t testing.TB, db *storage.DB) {
	t.Helper()
	err := db.Check()
	if errors.Is(err, storage.ErrClosed) {
		reopened, oerr := storage.Open(db.Path(), nil)
		if oerr != nil {
			t.Errorf("reopen for consistency check: %v", oerr)
			return
		}
		db = reopened
		err = db.Check()
	}
	if err != nil {
		t.Errorf("database consistency: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}
