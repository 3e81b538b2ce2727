package daemon

import (
	"path/filepath"

	"github.com/xaad-dev/xaad/daemon/keys"
)

// RekeyOptions configure [Rekey].
type RekeyOptions struct {
	// ConfigPath, Config and StateDir find the configuration and the
	// database as [New] does: without ConfigPath, the user's file or else
	// the administrator's.
	ConfigPath string
	Config     *FileConfig
	StateDir   string
	// KeyProvider, when set, moves the key to this provider (auto,
	// keyring, file); empty keeps it where it is.
	KeyProvider string
}

// RekeyResult says what Rekey did, for the person who ran it.
type RekeyResult = keys.RekeyResult

// Rekey re-seals the database under a fresh data key ([keys.Rekey]). The
// daemon must be stopped.
func Rekey(o RekeyOptions) (RekeyResult, error) {
	fc, _, err := loadConfig(o.Config, o.ConfigPath)
	if err != nil {
		return RekeyResult{}, err
	}
	stateDir, err := resolveStateDir(firstNonEmpty(o.StateDir, fc.Daemon.StateDir))
	if err != nil {
		return RekeyResult{}, err
	}
	return keys.Rekey(filepath.Join(stateDir, DBName), fc.Daemon.keySettings(), o.KeyProvider)
}
