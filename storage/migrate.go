package storage

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// migrations[v] turns a file of schema v into schema v+1 inside the
// transaction it is given. They all run in one write transaction at Open,
// so a crash or an error midway leaves the file exactly as it was.
var migrations = map[int]func(tx *bolt.Tx, to *aeadSealer) error{
	1: migrateSealValues,
}

func migrate(tx *bolt.Tx, from int, sealer *aeadSealer) error {
	for v := from; v < SchemaVersion; v++ {
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no migration from schema %d: %w", v, ErrCorrupt)
		}
		if err := m(tx, sealer); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	return tx.Bucket([]byte(metaBucket)).Put([]byte(schemaKey), []byte(strconv.Itoa(SchemaVersion)))
}

// migrateSealValues is 1 -> 2: every FormatPlain value is sealed with
// AES-256-GCM and the key is stamped into _meta. A value that is not plain
// fails the migration as a damaged file.
func migrateSealValues(tx *bolt.Tx, s *aeadSealer) error {
	err := eachValue(tx, func(b *bolt.Bucket, bucket, key string, v []byte) error {
		p, err := PlainSealer{}.Open(bucket, key, append([]byte(nil), v...))
		if err != nil {
			return fmt.Errorf("%s/%s: %w: %w", bucket, truncate(key), ErrCorrupt, err)
		}
		sealed, err := s.Seal(bucket, key, p)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), sealed)
	})
	if err != nil {
		return err
	}
	return stampKey(tx.Bucket([]byte(metaBucket)), s)
}

// eachValue calls fn for every value of every bucket but the meta bucket.
// Rewriting the current key's value from fn is allowed: bbolt permits Put on
// the key a cursor stands on, and the keys are collected first anyway so the
// walk never depends on that.
func eachValue(tx *bolt.Tx, fn func(b *bolt.Bucket, bucket, key string, v []byte) error) error {
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if string(name) == metaBucket {
			return nil
		}
		var keys [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			if v != nil {
				keys = append(keys, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(b, string(name), string(k), b.Get(k)); err != nil {
				return err
			}
		}
		return nil
	})
}
