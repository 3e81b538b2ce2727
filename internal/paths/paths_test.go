package paths

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func resolver(env map[string]string, home string) Resolver {
	return Resolver{
		Getenv: func(k string) string { return env[k] },
		Home: func() (string, error) {
			if home == "" {
				return "", errors.New("$HOME is not defined")
			}
			return home, nil
		},
		UID:          1234,
		SystemConfig: "/nonexistent/xaad/config.toml",
	}
}

// Relative XDG values are ignored, as the XDG Base Directory Specification
// requires; before this package the daemon used them and the CLI did not.
func TestStateDir(t *testing.T) {
	for _, tt := range []struct {
		name, state, home, want string
	}{
		{"xdg", "/x/state", "/home/u", "/x/state/xaad"},
		{"unset", "", "/home/u", "/home/u/.local/state/xaad"},
		{"relative ignored", "rel/state", "/home/u", "/home/u/.local/state/xaad"},
		{"dot ignored", ".", "/home/u", "/home/u/.local/state/xaad"},
	} {
		got, err := resolver(map[string]string{"XDG_STATE_HOME": tt.state}, tt.home).StateDir()
		if err != nil || got != tt.want {
			t.Errorf("%s: StateDir() = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	_, err := resolver(map[string]string{"XDG_STATE_HOME": "rel"}, "").StateDir()
	if err == nil || !contains(err.Error(), "XDG_STATE_HOME") {
		t.Errorf("no home and a relative XDG_STATE_HOME: %v, want an error naming XDG_STATE_HOME", err)
	}
}

func TestSocket(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"explicit", map[string]string{"XAAD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/7"}, "/x/y.sock"},
		{"xdg", map[string]string{"XDG_RUNTIME_DIR": "/run/user/7"}, "/run/user/7/xaad/xaad.sock"},
		{"relative runtime dir ignored", map[string]string{"XDG_RUNTIME_DIR": "run"}, "/run/user/1234/xaad/xaad.sock"},
		{"fallback", nil, "/run/user/1234/xaad/xaad.sock"},
	} {
		if got := resolver(tt.env, "/home/u").Socket(); got != tt.want {
			t.Errorf("%s: Socket() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestConfigToRead(t *testing.T) {
	dir := t.TempDir()
	system := filepath.Join(dir, "etc", "config.toml")
	r := resolver(map[string]string{"XDG_CONFIG_HOME": filepath.Join(dir, "cfg")}, "/home/u")
	r.SystemConfig = system
	user := filepath.Join(dir, "cfg", "xaad", "config.toml")

	// Neither exists: the user's path, so the error names where to write one.
	if got, err := r.ConfigToRead(); err != nil || got != user {
		t.Fatalf("neither file: %q, %v; want %q", got, err, user)
	}
	write(t, system)
	if got, _ := r.ConfigToRead(); got != system {
		t.Fatalf("only the system file: %q, want %q", got, system)
	}
	write(t, user)
	if got, _ := r.ConfigToRead(); got != user {
		t.Fatalf("both files: %q, want the user's %q", got, user)
	}
	rel := resolver(map[string]string{"XDG_CONFIG_HOME": "cfg"}, "/home/u")
	if got, _ := rel.UserConfig(); got != "/home/u/.config/xaad/config.toml" {
		t.Fatalf("relative XDG_CONFIG_HOME: %q", got)
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
