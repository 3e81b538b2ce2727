package storage

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Rekey re-seals every value under newKey in one write transaction and
// records the new key in the file; on any error the file keeps the old key
// throughout. Callers must keep the old key until Rekey has returned nil:
// until then it is the only key that opens the file.
func (db *DB) Rekey(newKey []byte) error {
	next, err := newAEADSealer(newKey, SchemaVersion)
	if err != nil {
		return fmt.Errorf("rekey: new key: %w", err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		err := eachValue(tx, func(b *bolt.Bucket, bucket, key string, v []byte) error {
			p, err := db.sealer.Open(bucket, key, append([]byte(nil), v...))
			if err != nil {
				return fmt.Errorf("%s/%s: %w", bucket, truncate(key), err)
			}
			s, err := next.Seal(bucket, key, p)
			if err != nil {
				return err
			}
			return b.Put([]byte(key), s)
		})
		if err != nil {
			return err
		}
		return stampKey(tx.Bucket([]byte(metaBucket)), next)
	})
	if err != nil {
		return fmt.Errorf("rekey %s: %w", db.path, db.closed(err))
	}
	db.sealer = next
	// Values under the old key stay in freed pages until compacted away; a
	// leaked old key must not open an old copy's worth of secrets from the
	// current file.
	nb, err := compact(db.bolt, db.path, db.lockTimeout, nil)
	if nb != nil {
		db.bolt = nb
	}
	if err != nil {
		return fmt.Errorf("rekey %s: re-sealed, but %w", db.path, err)
	}
	return nil
}

// Verify checks the whole file: bbolt's page consistency, then that every
// value opens under the key. A failure wraps [ErrCorrupt] or [ErrTampered]
// and names the first bad record (never its contents); a panic or memory
// fault while reading is returned as [ErrCorrupt].
func (db *DB) Verify() error {
	return recovering("verify "+db.path, nil, db.verify)
}

func (db *DB) verify() error {
	if err := db.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return eachValue(tx, func(_ *bolt.Bucket, bucket, key string, v []byte) error {
			if _, err := db.sealer.Open(bucket, key, append([]byte(nil), v...)); err != nil {
				return fmt.Errorf("%s/%s: %w", bucket, truncate(key), err)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("verify %s: %w", db.path, db.closed(err))
	}
	return nil
}

// Info is what a database file says about itself without a key.
type Info struct {
	// Exists is false when there is no file at the path.
	Exists bool
	// Version is the schema version; 0 for a new, empty file.
	Version int
	// KeyID is the [KeyID] of the key that seals the file; empty for a
	// schema-1 (unsealed) or new file.
	KeyID string
}

// Inspect reads a database's metadata read-only, without a key, so the
// right key can be looked for before Open. A running daemon's file gives
// [ErrLocked], a damaged one [ErrCorrupt] (checked as by [Open], never a
// crash).
func Inspect(path string, lockTimeout time.Duration) (Info, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return Info{}, nil
	}
	if lockTimeout <= 0 {
		lockTimeout = defaultLockTimeout
	}
	var (
		info  Info
		files fileSet
	)
	err := recovering("inspect "+path, files.closeAll, func() (err error) {
		info, err = inspect(path, lockTimeout, &files)
		return err
	})
	if err != nil {
		return Info{Exists: true}, err
	}
	return info, nil
}

func inspect(path string, lockTimeout time.Duration, files *fileSet) (Info, error) {
	b, err := openBolt(path, true, lockTimeout, files)
	if err != nil {
		return Info{}, openError(path, err)
	}
	defer b.Close()
	var fi fileInfo
	if err := b.View(func(tx *bolt.Tx) (err error) { fi, err = readInfo(tx); return err }); err != nil {
		return Info{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	return Info{Exists: true, Version: fi.version, KeyID: fi.keyID}, nil
}

// MoveAside renames a damaged database to PATH.corrupt-<UTC time> so that a
// fresh one can take its place while the old bytes stay for a person to
// look at. It never deletes anything and returns the new name.
func MoveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	dst := base
	// Link, unlike rename, fails on an existing name: an earlier
	// moved-aside file is never overwritten.
	for i := 1; ; i++ {
		err := os.Link(path, dst)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("move damaged database aside: %w", err)
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Remove(path); err != nil {
		return "", fmt.Errorf("move damaged database aside: %w", err)
	}
	return dst, nil
}
