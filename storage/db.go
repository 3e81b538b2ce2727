package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configure [Open]. A nil *Options, and every zero field, means the
// default.
type Options struct {
	// LockTimeout bounds the wait for bbolt's file lock. Default 1s: long
	// enough to ride out a previous daemon that is still closing, short
	// enough that a second xaad fails fast instead of hanging.
	LockTimeout time.Duration
	// Key is the data key ([KeySize] bytes) that seals every value. It is
	// required: Open fails with [ErrNoKey] without it, and with
	// [ErrWrongKey] when the file was sealed with another key. Keep it
	// outside the database's folder (see the daemon's key providers).
	Key []byte
}

const defaultLockTimeout = time.Second

// DB is the bbolt-backed [Store]. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	// mu guards sealer. Every read and write holds it shared from the raw
	// bytes to the (un)sealing, so Rekey, which holds it exclusively, never
	// leaves a value sealed under the old key behind.
	mu     sync.RWMutex
	sealer *aeadSealer
	// lockTimeout is for reopening the file after a compaction.
	lockTimeout time.Duration
}

var _ Store = (*DB)(nil)

// Open opens or creates the database at path. It creates the parent
// directory with mode 0700 and the file with mode 0600, writes the schema
// version and key check into a new file, migrates an older file to
// [SchemaVersion] in one transaction, and refuses without writing a file
// whose schema is newer than this code knows ([ErrSchemaTooNew]) or that
// opts.Key does not open ([ErrWrongKey], [ErrNoKey]). A file held by another
// process gives [ErrLocked]; a damaged one gives [ErrCorrupt], never a
// crash: the file is checked before bbolt maps it, and a panic or memory
// fault while opening or migrating it is returned as [ErrCorrupt] too.
func Open(path string, opts *Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = defaultLockTimeout
	}
	if len(o.Key) == 0 {
		return nil, fmt.Errorf("open %s: %w", path, ErrNoKey)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	var (
		db    *DB
		files fileSet
	)
	err := recovering("open "+path, files.closeAll, func() (err error) {
		db, err = open(path, o, &files)
		return err
	})
	return db, err
}

func open(path string, o Options, files *fileSet) (*DB, error) {
	b, err := openBolt(path, false, o.LockTimeout, files)
	if err != nil {
		return nil, openError(path, err)
	}
	sealer, migrated, err := initSchema(b, o.Key)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if migrated {
		if b, err = compact(b, path, o.LockTimeout, files); err != nil {
			if b != nil {
				b.Close()
			}
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return &DB{bolt: b, sealer: sealer, path: path, lockTimeout: o.LockTimeout}, nil
}

// DamageHint is what an open error of a damaged file tells a person to do.
// The daemon does it itself and leaves the hint out of what it reports.
const DamageHint = "move the file aside to start afresh"

func openError(path string, err error) error {
	const hint = DamageHint
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open %s: %w (another xaad is probably running)", path, ErrLocked)
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("open %s: %w (%s)", path, err, hint)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("open %s: %w (%s): %w", path, ErrCorrupt, hint, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Path reports the file the database lives in.
func (db *DB) Path() string { return db.path }

// KeyID reports the [KeyID] of the key that seals the file.
func (db *DB) KeyID() string {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.sealer.id
}

// Close releases the file and its lock. It is idempotent.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.bolt.Close()
}

// Get implements [Store].
func (db *DB) Get(bucket, key string) ([]byte, error) {
	if err := checkKey(bucket, key); err != nil {
		return nil, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	var raw []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		// bbolt's slice points into the mmap and dies with the tx.
		raw = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, db.wrap("get", bucket, key, err)
	}
	return db.open(bucket, key, raw)
}

// Put implements [Store].
func (db *DB) Put(bucket, key string, value []byte) error {
	return db.PutMany(bucket, map[string][]byte{key: value})
}

// PutMany implements [Store]. Values are sealed before the write transaction
// starts, so a sealing failure writes nothing and keeps bbolt's lock short;
// db.mu, held throughout, keeps Rekey from slipping in between.
func (db *DB) PutMany(bucket string, kv map[string][]byte) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	sealed := make(map[string][]byte, len(kv))
	for k, v := range kv {
		if err := checkKey(bucket, k); err != nil {
			return err
		}
		s, err := db.sealer.Seal(bucket, k, v)
		if err != nil {
			return fmt.Errorf("seal %s/%s: %w", bucket, k, err)
		}
		sealed[k] = s
	}
	if len(sealed) == 0 {
		return nil
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		for k, s := range sealed {
			if err := b.Put([]byte(k), s); err != nil {
				return err
			}
		}
		return nil
	})
	return db.wrap("put", bucket, "", err)
}

// Delete implements [Store].
func (db *DB) Delete(bucket, key string) error {
	if err := checkKey(bucket, key); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	return db.wrap("delete", bucket, key, err)
}

// List implements [Store].
func (db *DB) List(bucket string) (map[string][]byte, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	raw := map[string][]byte{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket: storage never makes one
			}
			raw[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, db.wrap("list", bucket, "", err)
	}
	// Unseal outside the transaction so slow sealers don't hold it open.
	out := make(map[string][]byte, len(raw))
	for k, s := range raw {
		v, err := db.open(bucket, k, s)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// DeleteBucket implements [Store].
func (db *DB) DeleteBucket(bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		err := tx.DeleteBucket([]byte(bucket))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	return db.wrap("delete bucket", bucket, "", err)
}

// Check runs bbolt's consistency check over the whole file and returns the
// first problem found, or nil.
func (db *DB) Check() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var first error
		// Drain the channel: the checker goroutine reads pages of this tx
		// and must finish before the tx is rolled back.
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
	if err != nil {
		return fmt.Errorf("check %s: %w", db.path, db.closed(err))
	}
	return nil
}

func (db *DB) open(bucket, key string, sealed []byte) ([]byte, error) {
	v, err := db.sealer.Open(bucket, key, sealed)
	if err != nil {
		return nil, fmt.Errorf("unseal %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

func (db *DB) wrap(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	name := bucket
	if key != "" {
		name += "/" + key
	}
	return fmt.Errorf("%s %s: %w", op, name, db.closed(err))
}

// closed maps bbolt's closed-database error onto ours so callers need not
// import bbolt to recognise it.
func (db *DB) closed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
