package storage

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this code reads and writes. Bump it with a
// migration (migrate.go) when the meaning of stored bytes changes in a way
// older code would misread.
//
//	1  values framed with FormatPlain, not encrypted
//	2  values sealed with AES-256-GCM (FormatAESGCM); _meta holds key_id
//	   and key_check
const SchemaVersion = 2

// Records of the meta bucket. None is secret: they must be readable before
// any key is available, to say which key is needed.
const (
	// schemaKey holds the version as decimal ASCII, so `bbolt get FILE _meta
	// schema_version` is readable by a person.
	schemaKey = "schema_version"
	// keyIDKey holds KeyID of the data key that sealed the file.
	keyIDKey = "key_id"
	// keyCheckKey holds keyCheckPlain sealed under the data key: proof that
	// a key is the right one before anything is written with it.
	keyCheckKey   = "key_check"
	keyCheckPlain = "xaad key check"
)

// fileInfo is what the meta bucket says about a file.
type fileInfo struct {
	empty   bool // no buckets at all: a new file
	version int
	keyID   string
}

func readInfo(tx *bolt.Tx) (fileInfo, error) {
	meta := tx.Bucket([]byte(metaBucket))
	if meta == nil {
		fi := fileInfo{empty: true}
		err := tx.ForEach(func([]byte, *bolt.Bucket) error {
			fi.empty = false
			return nil
		})
		if err == nil && !fi.empty {
			err = fmt.Errorf("file has buckets but no schema version: %w", ErrCorrupt)
		}
		return fi, err
	}
	raw := meta.Get([]byte(schemaKey))
	// Only the canonical form "2" that this code writes: "+2" or "02" is
	// not a version xaad wrote, so the record was changed.
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 || strconv.Itoa(v) != string(raw) {
		return fileInfo{}, fmt.Errorf("schema version %q is unreadable: %w", raw, ErrCorrupt)
	}
	return fileInfo{version: v, keyID: string(meta.Get([]byte(keyIDKey)))}, nil
}

// initSchema stamps a new file, migrates an older one, and checks that key
// opens the file; it returns the sealer to use and whether it migrated. It reads first and opens a
// write transaction only for a new or older file, so a file from a newer
// xaad, a foreign bbolt file, or a file under the wrong key is never
// modified.
func initSchema(db *bolt.DB, key []byte) (*aeadSealer, bool, error) {
	var fi fileInfo
	if err := db.View(func(tx *bolt.Tx) (err error) { fi, err = readInfo(tx); return err }); err != nil {
		return nil, false, err
	}
	if fi.version > SchemaVersion {
		return nil, false, fmt.Errorf("%w: file has version %d, this xaad knows up to %d; upgrade xaad or move the file aside",
			ErrSchemaTooNew, fi.version, SchemaVersion)
	}
	sealer, err := newAEADSealer(key, SchemaVersion)
	if err != nil {
		return nil, false, fmt.Errorf("data key: %w", err)
	}
	switch {
	case fi.empty:
		return sealer, false, db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucket([]byte(metaBucket))
			if err != nil {
				return err
			}
			if err := meta.Put([]byte(schemaKey), []byte(strconv.Itoa(SchemaVersion))); err != nil {
				return err
			}
			return stampKey(meta, sealer)
		})
	case fi.version < SchemaVersion:
		return sealer, true, db.Update(func(tx *bolt.Tx) error { return migrate(tx, fi.version, sealer) })
	}
	if err := db.View(func(tx *bolt.Tx) error { return verifyKey(tx.Bucket([]byte(metaBucket)), sealer) }); err != nil {
		return nil, false, err
	}
	return sealer, false, nil
}

// stampKey records which key seals the file.
func stampKey(meta *bolt.Bucket, s *aeadSealer) error {
	check, err := s.Seal(metaBucket, keyCheckKey, []byte(keyCheckPlain))
	if err != nil {
		return err
	}
	if err := meta.Put([]byte(keyIDKey), []byte(s.id)); err != nil {
		return err
	}
	return meta.Put([]byte(keyCheckKey), check)
}

// verifyKey tells a wrong key (ErrWrongKey, naming both key ids) from a
// damaged key check (ErrCorrupt).
func verifyKey(meta *bolt.Bucket, s *aeadSealer) error {
	id := string(meta.Get([]byte(keyIDKey)))
	raw := meta.Get([]byte(keyCheckKey))
	if id == "" || raw == nil {
		return fmt.Errorf("the key check record is missing: %w", ErrCorrupt)
	}
	if id != s.id {
		return fmt.Errorf("%w: the file is sealed with key %s, the key given is %s", ErrWrongKey, id, s.id)
	}
	p, err := s.Open(metaBucket, keyCheckKey, append([]byte(nil), raw...))
	if err != nil || string(p) != keyCheckPlain {
		return fmt.Errorf("the key check record does not open under key %s: %w", id, ErrCorrupt)
	}
	return nil
}
