package daemon

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/xaad-dev/xaad/storage"
)

// RekeyOptions configure [Rekey].
type RekeyOptions struct {
	// ConfigPath, Config and StateDir find the database as [Run] does.
	ConfigPath string
	Config     *FileConfig
	StateDir   string
	// KeyProvider, when set, moves the key to this provider (auto,
	// keyring, file); empty keeps it where it is.
	KeyProvider string
}

// RekeyResult says what Rekey did, for the person who ran it.
type RekeyResult struct {
	Path               string
	OldKeyID, NewKeyID string
	OldSource          string
	NewSource          string
}

// Rekey re-seals the database under a fresh data key. The daemon must be
// stopped (the database is locked while it runs). The order keeps a crash
// at any point recoverable: the new key is stored beside the old one, the
// database is re-sealed in one transaction, and only then does the new key
// replace the old one in its provider.
func Rekey(o RekeyOptions) (RekeyResult, error) {
	fc, err := loadConfigFor(o.Config, o.ConfigPath)
	if err != nil {
		return RekeyResult{}, err
	}
	stateDir, err := resolveStateDir(firstNonEmpty(o.StateDir, fc.Daemon.StateDir))
	if err != nil {
		return RekeyResult{}, err
	}
	path := filepath.Join(stateDir, DBName)
	res := RekeyResult{Path: path}
	info, err := storage.Inspect(path, 100*time.Millisecond)
	if errors.Is(err, storage.ErrLocked) {
		return res, fmt.Errorf("%s is in use: stop the daemon first (systemctl --user stop xaad), then run xaad rekey again", path)
	}
	if err != nil {
		return res, err
	}
	if !info.Exists {
		return res, fmt.Errorf("there is no database at %s to rekey", path)
	}
	sources, err := keySources(fc.Daemon, stateDir)
	if err != nil {
		return res, err
	}
	oldKey, from, err := findKey(sources, info)
	if err != nil {
		return res, fmt.Errorf("cannot open %s: %w", path, err)
	}
	to := from
	if o.KeyProvider != "" && o.KeyProvider != ProviderAuto {
		d := fc.Daemon
		d.KeyProvider = o.KeyProvider
		targets, err := keySources(d, stateDir)
		if err != nil {
			return res, err
		}
		to = targets[0]
	}
	res.OldKeyID, res.OldSource, res.NewSource = storage.KeyID(oldKey), from.String(), to.String()
	db, err := storage.Open(path, &storage.Options{Key: oldKey, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		return res, err
	}
	defer db.Close()
	newKey := storage.NewKey()
	res.NewKeyID = storage.KeyID(newKey)
	if err := to.storePending(newKey); err != nil {
		return res, fmt.Errorf("store the new key in %s: %w; nothing was changed", to, err)
	}
	if err := db.Rekey(newKey); err != nil {
		return res, fmt.Errorf("%w; the database still opens with the old key %s", err, res.OldKeyID)
	}
	var prev []byte
	if to == from {
		prev = oldKey
	}
	if err := to.commit(newKey, prev); err != nil {
		return res, fmt.Errorf("the database is re-sealed under key %s, but making it current in %s failed: %w (xaad finds it there at the next start)", res.NewKeyID, to, err)
	}
	if to != from {
		if err := from.remove(oldKey); err != nil {
			return res, fmt.Errorf("rekeyed, but the old key could not be removed from %s: %w", from, err)
		}
	}
	return res, nil
}

func loadConfigFor(fc *FileConfig, path string) (*FileConfig, error) {
	if fc != nil {
		return fc, nil
	}
	if path == "" {
		path = DefaultConfigPath()
	}
	return LoadConfig(path)
}
