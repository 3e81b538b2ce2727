package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compact rewrites the file at path with only its live records and returns
// the reopened database; b is closed. bbolt never scrubs freed pages, so
// after a migration (plaintext values of schema 1) or a rekey (values under
// the old key) the old bytes would stay readable in free pages of the file:
// a copy of it would reveal what sealing is meant to hide.
//
// The copy is written to a temp file beside path and renamed over it, with
// the directory synced, so a crash at any point leaves either the old file
// or the new one, each whole.
func compact(b *bolt.DB, path string, lockTimeout time.Duration, files *fileSet) (*bolt.DB, error) {
	tmp := path + ".compact"
	_ = os.Remove(tmp) // left by a crash during an earlier compaction
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return b, fmt.Errorf("compact: %w", err)
	}
	if err := bolt.Compact(dst, b, 0); err != nil {
		dst.Close()
		os.Remove(tmp)
		return b, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return b, fmt.Errorf("compact: %w", err)
	}
	// Rename while b still holds the lock, so no other process opens the
	// old file in between; the lock dies with the old inode on Close.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return b, fmt.Errorf("compact: %w", err)
	}
	if err := syncDir(path); err != nil {
		return b, fmt.Errorf("compact: %w", err)
	}
	b.Close()
	nb, err := openBolt(path, false, lockTimeout, files)
	if err != nil {
		return nil, fmt.Errorf("reopen after compaction: %w", err)
	}
	return nb, nil
}

func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
