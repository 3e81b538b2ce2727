package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/daemon/keys"
	"github.com/xaad-dev/xaad/storage"
)

// DBName is the database file in the state folder.
const DBName = storage.FileName

// openedStore is the database plus what Status should say about it.
type openedStore struct {
	db       *storage.DB
	source   keys.Source
	warnings []string
}

// openStore finds the data key and opens the database in stateDir.
//
// A database that is damaged (unreadable pages, a failed migration, a value
// that does not authenticate under the right key) is moved aside to
// xaad.db.corrupt-<time> and a new one is started, with an error in the log
// and a warning in Status: the person signs in again instead of being stuck.
// A missing or wrong key is different: the file is fine and the key is
// elsewhere, so xaad refuses to start, says where it looked, and changes
// nothing.
func openStore(stateDir string, d DaemonSection, log *slog.Logger, now time.Time) (*openedStore, error) {
	path := filepath.Join(stateDir, DBName)
	out := &openedStore{}
	info, err := storage.Inspect(path, time.Second)
	if errors.Is(err, storage.ErrCorrupt) {
		if err := out.moveAside(path, err, log, now); err != nil {
			return nil, err
		}
		info = storage.Info{}
	} else if err != nil {
		return nil, err
	}
	if info.Version > storage.SchemaVersion {
		return nil, fmt.Errorf("%s: %w: file has version %d, this xaad knows up to %d; upgrade xaad",
			path, storage.ErrSchemaTooNew, info.Version, storage.SchemaVersion)
	}
	sources, err := keys.Sources(d.keySettings(), stateDir)
	if err != nil {
		return nil, err
	}
	key, src, err := keys.Find(sources, info)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	out.source = src
	for attempt := 0; ; attempt++ {
		db, err := storage.Open(path, &storage.Options{Key: key, LockTimeout: time.Second})
		if err == nil {
			if err = db.Verify(); err == nil {
				out.db = db
				break
			}
			db.Close()
		}
		if !damaged(err) || attempt > 0 {
			return nil, err
		}
		if err := out.moveAside(path, err, log, now); err != nil {
			return nil, err
		}
	}
	if w := keys.Warning(src); w != "" {
		out.warnings = append(out.warnings, w)
	}
	log.Info("database open", slog.String("path", path), slog.String("key_provider", src.Provider()), slog.String("key_id", out.db.KeyID()))
	return out, nil
}

// damaged reports whether err means the file is bad, as opposed to a key
// problem, a lock, or a newer schema, which must never cost data.
func damaged(err error) bool {
	return errors.Is(err, storage.ErrCorrupt) || errors.Is(err, storage.ErrTampered) || errors.Is(err, storage.ErrUnknownFormat)
}

func (o *openedStore) moveAside(path string, cause error, log *slog.Logger, now time.Time) error {
	to, err := storage.MoveAside(path, now)
	if err != nil {
		return fmt.Errorf("%w (while setting aside a damaged database: %v)", err, cause)
	}
	log.Error("the database was damaged; moved it aside and started with an empty one: sign in again",
		slog.String("moved_to", to), slog.Any("error", cause))
	// storage's advice (move the file aside) is what was just done.
	what := strings.ReplaceAll(cause.Error(), " ("+storage.DamageHint+")", "")
	o.warnings = append(o.warnings, fmt.Sprintf("the database was damaged (%s); it was moved aside to %s and xaad started with an empty one: sign in again (xaactl login)", what, to))
	return nil
}
