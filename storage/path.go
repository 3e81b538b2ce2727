package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultPath returns $XDG_STATE_HOME/xaad/xaad.db, or
// ~/.local/state/xaad/xaad.db when XDG_STATE_HOME is unset or relative (the
// XDG base directory spec says relative values are to be ignored).
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "xaad", "xaad.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default database path: %w", err)
	}
	if home == "" {
		return "", errors.New("default database path: no home directory")
	}
	return filepath.Join(home, ".local", "state", "xaad", "xaad.db"), nil
}
