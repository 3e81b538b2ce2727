package storage

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this code reads and writes. Bump it with a
// migration when the meaning of stored bytes changes in a way older code
// would misread.
const SchemaVersion = 1

// schemaKey in the meta bucket holds the version as decimal ASCII, so
// `bbolt get FILE _meta schema_version` is readable by a person. It is not
// sealed: the version must be readable before any key is available.
const schemaKey = "schema_version"

// initSchema stamps a new file and validates an existing one. It reads first
// and only opens a write transaction for a file with no buckets at all, so a
// file from a newer xaad, or a foreign bbolt file, is never modified.
func initSchema(db *bolt.DB) error {
	var (
		version int
		empty   = true
	)
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(metaBucket))
		if meta == nil {
			return tx.ForEach(func([]byte, *bolt.Bucket) error {
				empty = false
				return nil
			})
		}
		empty = false
		raw := meta.Get([]byte(schemaKey))
		v, err := strconv.Atoi(string(raw))
		if err != nil || v < 1 {
			return fmt.Errorf("schema version %q is unreadable: %w", raw, ErrCorrupt)
		}
		version = v
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case empty:
		return db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucket([]byte(metaBucket))
			if err != nil {
				return err
			}
			return meta.Put([]byte(schemaKey), []byte(strconv.Itoa(SchemaVersion)))
		})
	case version == 0:
		return fmt.Errorf("file has buckets but no schema version: %w", ErrCorrupt)
	case version > SchemaVersion:
		return fmt.Errorf("%w: file has version %d, this xaad knows up to %d; upgrade xaad or move the file aside",
			ErrSchemaTooNew, version, SchemaVersion)
	}
	return nil
}
