package keys

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/xaad-dev/xaad/storage"
)

// RekeyResult says what [Rekey] did, for the person who ran it.
type RekeyResult struct {
	Path               string
	OldKeyID, NewKeyID string
	OldSource          string
	NewSource          string
}

// lockWait is how long Rekey waits for the database's lock: a running
// daemon holds it, and the person is told to stop it rather than made to
// wait.
const lockWait = 100 * time.Millisecond

// Rekey re-seals the database at path under a fresh data key, found as s
// says; moveTo, unless "" or Auto, moves the key to that provider. The
// daemon must be stopped (the database is locked while it runs). The order
// keeps a crash at any point recoverable: the new key is stored beside the
// old one, the database is re-sealed in one transaction, and only then
// does the new key replace the old one in its provider.
func Rekey(path string, s Settings, moveTo string) (RekeyResult, error) {
	res := RekeyResult{Path: path}
	stateDir := filepath.Dir(path)
	info, err := storage.Inspect(path, lockWait)
	if errors.Is(err, storage.ErrLocked) {
		return res, fmt.Errorf("%s is in use: stop the daemon first (systemctl --user stop xaad), then run xaad rekey again", path)
	}
	if err != nil {
		return res, err
	}
	if !info.Exists {
		return res, fmt.Errorf("there is no database at %s to rekey", path)
	}
	sources, err := Sources(s, stateDir)
	if err != nil {
		return res, err
	}
	oldKey, from, err := Find(sources, info)
	if err != nil {
		return res, fmt.Errorf("cannot open %s: %w", path, err)
	}
	to := from
	if moveTo != "" && moveTo != Auto {
		s.Provider = moveTo
		targets, err := Sources(s, stateDir)
		if err != nil {
			return res, err
		}
		to = targets[0]
	}
	res.OldKeyID, res.OldSource, res.NewSource = storage.KeyID(oldKey), from.String(), to.String()
	return res, reseal(&res, path, oldKey, from, to)
}

// reseal does the three steps of Rekey once the keys are known.
func reseal(res *RekeyResult, path string, oldKey []byte, from, to Source) error {
	db, err := storage.Open(path, &storage.Options{Key: oldKey, LockTimeout: lockWait})
	if err != nil {
		return err
	}
	defer db.Close()
	newKey := storage.NewKey()
	res.NewKeyID = storage.KeyID(newKey)
	if err := to.storePending(newKey); err != nil {
		return fmt.Errorf("store the new key in %s: %w; nothing was changed", to, err)
	}
	if err := db.Rekey(newKey); err != nil {
		return fmt.Errorf("%w; the database still opens with the old key %s", err, res.OldKeyID)
	}
	var prev []byte
	if to == from {
		prev = oldKey
	}
	if err := to.commit(newKey, prev); err != nil {
		return fmt.Errorf("the database is re-sealed under key %s, but making it current in %s failed: %w (xaad finds it there at the next start)", res.NewKeyID, to, err)
	}
	if to != from {
		if err := from.remove(oldKey); err != nil {
			return fmt.Errorf("rekeyed, but the old key could not be removed from %s: %w", from, err)
		}
	}
	return nil
}
