// Package paths is the one place that says where xaad keeps things: the
// state folder (database, audit log), the socket and the configuration
// file. The daemon, the storage package, the client package and the CLI all
// ask it, so they cannot disagree about a default.
//
// The XDG Base Directory Specification (0.8) says a relative value of an
// XDG_* variable is invalid and must be ignored; so does this package, for
// every variable it reads.
//
// It is a leaf: it imports nothing of xaad, so package client may use it.
package paths

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// SystemConfig is the administrator's configuration, which the packages
// install; a user's own file takes its place.
const SystemConfig = "/etc/xaad/config.toml"

// systemConfig is where this build looks for it: SystemConfig, unless the
// build moved it (go build -ldflags "-X
// github.com/xaad-dev/xaad/internal/paths.systemConfig=PATH"), as a
// distribution with another layout, or a test of the built command, may.
var systemConfig = SystemConfig

// Resolver computes the default paths from an environment. The zero value
// is not usable; [Default] reads the process environment.
type Resolver struct {
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Home is the user's home folder.
	Home func() (string, error)
	// UID is the user's numeric id, for /run/user/UID.
	UID int
	// SystemConfig is the administrator's configuration file.
	SystemConfig string
}

// Default resolves against the process environment.
var Default = Resolver{Getenv: os.Getenv, Home: os.UserHomeDir, UID: os.Getuid(), SystemConfig: systemConfig}

// xdg returns $name when it is set to an absolute path, else "".
func (r Resolver) xdg(name string) string {
	if v := r.Getenv(name); filepath.IsAbs(v) {
		return v
	}
	return ""
}

func (r Resolver) home(purpose, variable string) (string, error) {
	h, err := r.Home()
	if err == nil && h == "" {
		err = errors.New("no home folder")
	}
	if err != nil {
		return "", fmt.Errorf("cannot find the %s: set %s to an absolute path, or pass it on the command line: %w", purpose, variable, err)
	}
	return h, nil
}

// StateDir is $XDG_STATE_HOME/xaad, else ~/.local/state/xaad.
func (r Resolver) StateDir() (string, error) {
	if d := r.xdg("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "xaad"), nil
	}
	h, err := r.home("state folder", "XDG_STATE_HOME")
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".local", "state", "xaad"), nil
}

// Socket is $XAAD_SOCKET, else $XDG_RUNTIME_DIR/xaad/xaad.sock, else
// /run/user/UID/xaad/xaad.sock (where systemd puts XDG_RUNTIME_DIR for a
// logged-in user). The daemon listens there and clients dial it.
func (r Resolver) Socket() string {
	if p := r.Getenv("XAAD_SOCKET"); p != "" {
		return p
	}
	dir := r.xdg("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join("/run/user", strconv.Itoa(r.UID))
	}
	return filepath.Join(dir, "xaad", "xaad.sock")
}

// ConfigDir is $XDG_CONFIG_HOME/xaad, else ~/.config/xaad.
func (r Resolver) ConfigDir() (string, error) {
	if d := r.xdg("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "xaad"), nil
	}
	h, err := r.home("configuration folder", "XDG_CONFIG_HOME")
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".config", "xaad"), nil
}

// UserConfig is the user's own configuration, ConfigDir/config.toml.
func (r Resolver) UserConfig() (string, error) {
	d, err := r.ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "config.toml"), nil
}

// ConfigToRead is the file `xaad run`, `xaad rekey` and `xaad check-config`
// read without --config: the user's own file, or SystemConfig when only
// that one exists.
func (r Resolver) ConfigToRead() (string, error) {
	user, err := r.UserConfig()
	if err != nil {
		if _, serr := os.Stat(r.SystemConfig); serr == nil {
			return r.SystemConfig, nil
		}
		return "", err
	}
	if _, err := os.Stat(user); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(r.SystemConfig); err == nil {
			return r.SystemConfig, nil
		}
	}
	return user, nil
}

// StateDir is [Default].StateDir.
func StateDir() (string, error) { return Default.StateDir() }

// Socket is [Default].Socket.
func Socket() string { return Default.Socket() }

// ConfigDir is [Default].ConfigDir.
func ConfigDir() (string, error) { return Default.ConfigDir() }

// ConfigToRead is [Default].ConfigToRead.
func ConfigToRead() (string, error) { return Default.ConfigToRead() }
