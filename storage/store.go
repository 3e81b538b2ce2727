package storage

import (
	"errors"
	"fmt"
)

// Store is the contract shared by [DB] and [Mem], and what
// storagetest.Run checks. All methods are safe for concurrent use.
type Store interface {
	// Get returns a copy of the value at bucket/key, or an error wrapping
	// ErrNotFound when the bucket or the key does not exist.
	Get(bucket, key string) ([]byte, error)
	// Put stores a copy of value at bucket/key, creating the bucket if needed.
	Put(bucket, key string, value []byte) error
	// PutMany stores every entry of kv in bucket atomically: all or none.
	PutMany(bucket string, kv map[string][]byte) error
	// Delete removes bucket/key; a missing bucket or key is not an error.
	Delete(bucket, key string) error
	// List returns copies of every entry in bucket; a missing bucket yields
	// an empty map.
	List(bucket string) (map[string][]byte, error)
	// DeleteBucket removes bucket and everything in it; a missing bucket is
	// not an error.
	DeleteBucket(bucket string) error
	// Close releases the store. It is idempotent; every other method returns
	// an error wrapping ErrClosed afterwards.
	Close() error
}

var (
	// ErrNotFound is returned by Get when the bucket or key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by every method but Close once the store is closed.
	ErrClosed = errors.New("store is closed")
	// ErrInvalidName is returned for an empty or oversized bucket or key name,
	// or for the bucket name reserved for storage's own metadata.
	ErrInvalidName = errors.New("invalid bucket or key name")
	// ErrLocked is returned by Open when another process holds the database.
	ErrLocked = errors.New("database is locked by another process")
	// ErrCorrupt is returned by Open when the file is damaged or is not a
	// bbolt database at all.
	ErrCorrupt = errors.New("database file is corrupt or not an xaad database")
	// ErrSchemaTooNew is returned by Open when the file was written by a newer
	// xaad whose schema this code does not understand.
	ErrSchemaTooNew = errors.New("database schema is newer than this xaad supports")
)

// maxNameLen matches bbolt's MaxKeySize so that both stores refuse the same
// names instead of Mem accepting what DB would reject.
const maxNameLen = 32768

// metaBucket holds storage's own records (the schema version). It is reserved
// in every Store so callers cannot overwrite it by accident.
const metaBucket = "_meta"

func checkBucket(bucket string) error {
	if bucket == "" || len(bucket) > maxNameLen || bucket == metaBucket {
		return fmt.Errorf("bucket %q: %w", truncate(bucket), ErrInvalidName)
	}
	return nil
}

func checkKey(bucket, key string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if key == "" || len(key) > maxNameLen {
		return fmt.Errorf("key %q in bucket %q: %w", truncate(key), bucket, ErrInvalidName)
	}
	return nil
}

// truncate keeps an oversized name from flooding an error message.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
