package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/storage"
)

// DBName is the database file in the state folder.
const DBName = "xaad.db"

// openedStore is the database plus what Status should say about it.
type openedStore struct {
	db       *storage.DB
	source   keySource
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
	sources, err := keySources(d, stateDir)
	if err != nil {
		return nil, err
	}
	key, src, err := findKey(sources, info)
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
	if src.name() == ProviderFile {
		out.warnings = append(out.warnings, fmt.Sprintf(keyFileWarning, src.(fileSource).path))
	}
	log.Info("database open", slog.String("path", path), slog.String("key_provider", src.name()), slog.String("key_id", out.db.KeyID()))
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
	o.warnings = append(o.warnings, fmt.Sprintf("the database was damaged (%v); it was moved aside to %s and xaad started with an empty one: sign in again (xaactl login)", cause, to))
	return nil
}

// findKey returns the key that opens a database described by info: for a
// sealed file, the source holding the key with its id; for a new or
// unsealed file, the first source that has or can keep a key (a new key is
// made for the keyring, which names items by key id; an existing key file
// is reused, never overwritten).
func findKey(sources []keySource, info storage.Info) ([]byte, keySource, error) {
	if len(sources) == 0 {
		return nil, nil, errors.New("no key provider is available: set key_provider and key_file in the [daemon] section")
	}
	var tried []string
	if info.KeyID != "" {
		for _, s := range sources {
			k, err := s.load(info.KeyID)
			if err == nil {
				return k, s, nil
			}
			tried = append(tried, fmt.Sprintf("%s: %v", s, err))
		}
		return nil, nil, fmt.Errorf("%w: the database is sealed with key %s, and no key provider has that key (%s); xaad changed nothing: restore the key, or move the database aside to start afresh",
			storage.ErrWrongKey, info.KeyID, strings.Join(tried, "; "))
	}
	for _, s := range sources {
		k, err := s.load("")
		if err == nil {
			return k, s, nil
		}
		if errors.Is(err, errNoKeyHere) && s.name() != ProviderSystemd {
			k, err = createKey(s)
			if err == nil {
				return k, s, nil
			}
		}
		tried = append(tried, fmt.Sprintf("%s: %v", s, err))
	}
	return nil, nil, fmt.Errorf("no key provider has or could keep a data key (%s)", strings.Join(tried, "; "))
}

// createKey makes a new key and stores it in s.
func createKey(s keySource) ([]byte, error) {
	if fs, ok := s.(fileSource); ok {
		return fs.create(storage.NewKey())
	}
	k := storage.NewKey()
	if err := s.storePending(k); err != nil {
		return nil, err
	}
	return k, s.commit(k, nil)
}
