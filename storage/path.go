package storage

import (
	"fmt"
	"path/filepath"

	"github.com/xaad-dev/xaad/internal/paths"
)

// FileName is the database file in the daemon's state folder.
const FileName = "xaad.db"

// DefaultPath returns the database in the default state folder
// ([paths.StateDir]): $XDG_STATE_HOME/xaad/xaad.db, or
// ~/.local/state/xaad/xaad.db when XDG_STATE_HOME is unset or relative (the
// XDG base directory spec says relative values are to be ignored).
func DefaultPath() (string, error) {
	dir, err := paths.StateDir()
	if err != nil {
		return "", fmt.Errorf("default database path: %w", err)
	}
	return filepath.Join(dir, FileName), nil
}
