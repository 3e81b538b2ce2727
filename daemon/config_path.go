package daemon

import (
	"github.com/xaad-dev/xaad/internal/paths"
)

// ConfigToRead is the file read without --config by `xaad run`, `xaad
// rekey`, `xaad check-config` and a reload: the user's own
// $XDG_CONFIG_HOME/xaad/config.toml, or the administrator's
// /etc/xaad/config.toml when only that one exists.
func ConfigToRead() (string, error) { return paths.ConfigToRead() }

// resolveSocket is p, else the default socket (paths.Socket).
func resolveSocket(p string) string {
	if p != "" {
		return p
	}
	return paths.Socket()
}

// resolveStateDir is p, else the default state folder (paths.StateDir).
func resolveStateDir(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	return paths.StateDir()
}
