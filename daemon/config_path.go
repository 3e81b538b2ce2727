package daemon

import (
	"github.com/xaad-dev/xaad/internal/paths"
)

// DefaultConfigPath is the user's own configuration,
// $XDG_CONFIG_HOME/xaad/config.toml (~/.config/xaad/config.toml); "" when
// neither that variable nor a home folder is set.
func DefaultConfigPath() string {
	p, _ := paths.Default.UserConfig()
	return p
}

// ConfigToRead is the file read without --config by `xaad run`, `xaad
// rekey`, `xaad check-config` and a reload: DefaultConfigPath, or the
// administrator's /etc/xaad/config.toml when only that one exists.
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
