package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/daemon"
)

// buildWithSystemConfig builds this command with its administrator's
// configuration moved to system, as the packages' /etc/xaad/config.toml.
func buildWithSystemConfig(t *testing.T, dir, system string) string {
	t.Helper()
	bin := filepath.Join(dir, "xaad")
	ld := "-X github.com/xaad-dev/xaad/internal/paths.systemConfig=" + system
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// xaadCmd runs bin with a home of its own that holds no configuration.
func xaadCmd(t *testing.T, bin, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"CREDENTIALS_DIRECTORY=", "DBUS_SESSION_BUS_ADDRESS=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// On a packaged install the person has no config of their own; `xaad
// run` then reads /etc/xaad/config.toml, and so must `xaad rekey` and
// `xaad check-config` (rekey used to fail with ENOENT on the user's path).
func TestCommandsReadTheSystemConfig(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	system := filepath.Join(dir, "etc", "config.toml")
	state, keyFile := filepath.Join(dir, "state"), filepath.Join(dir, "keys", "data.key")
	os.MkdirAll(filepath.Dir(system), 0o755)
	os.MkdirAll(home, 0o700)
	body := fmt.Sprintf("[daemon]\nstate_dir = %q\nkey_provider = \"file\"\nkey_file = %q\n[idp]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nauth_method = \"none\"\n", state, keyFile)
	if err := os.WriteFile(system, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildWithSystemConfig(t, dir, system)

	out, errOut, code := xaadCmd(t, bin, home, "check-config")
	if code != 0 || !strings.Contains(out, system+": OK") {
		t.Fatalf("check-config without FILE: exit %d\n%s%s", code, out, errOut)
	}

	// A database made by the daemon with that configuration, as `xaad
	// run` would make it; then the daemon is stopped.
	d, err := daemon.New(daemon.Options{ConfigPath: system, SocketPath: filepath.Join(dir, "s"), Logger: daemon.NewLogger(io.Discard, "info")})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	before, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, code = xaadCmd(t, bin, home, "rekey", "--allow-root")
	if code != 0 || !strings.Contains(out, filepath.Join(state, "xaad.db")+": re-sealed under key") {
		t.Fatalf("rekey without --config: exit %d\n%s%s", code, out, errOut)
	}
	after, err := os.ReadFile(keyFile)
	if err != nil || string(after) == string(before) {
		t.Fatalf("the key file of the system config was not replaced: %v", err)
	}
	d, err = daemon.New(daemon.Options{ConfigPath: system, SocketPath: filepath.Join(dir, "s"), Logger: daemon.NewLogger(io.Discard, "info")})
	if err != nil {
		t.Fatalf("the rekeyed database does not open: %v", err)
	}
	d.Close()
}

// check-config refuses what run refuses, all of it at once, each problem
// naming its fix: here an issuer with a query (RFC 8414 §2), which
// discovery would refuse only at the first sign-in, and an empty secret
// file, which the start refused after check-config had said OK.
func TestCheckConfigReportsWhatRunRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-secret")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf("[daemon]\nkey_provider = \"file\"\nkey_file = %q\n[idp]\nissuer = \"https://idp.example/?tenant=a\"\nclient_id = \"c\"\nclient_secret_file = %q\n",
		filepath.Join(dir, "data.key"), empty)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	wants := []string{
		"2 problems",
		`idp.issuer: issuer "https://idp.example/?tenant=a" has a query (RFC 8414 §2): remove the query`,
		"idp.client_secret_file: " + empty + " is empty: write the client secret into it",
	}
	var out, errb strings.Builder
	if code := run([]string{"check-config", cfg}, &out, &errb); code != 1 {
		t.Fatalf("check-config exit %d for a config run refuses:\n%s", code, out.String())
	}
	for _, w := range wants {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("check-config lacks %q:\n%s", w, errb.String())
		}
	}
	// The start refuses it with the same words, before opening anything.
	_, err := daemon.New(daemon.Options{ConfigPath: cfg, StateDir: filepath.Join(dir, "state"), SocketPath: filepath.Join(dir, "s"),
		Logger: daemon.NewLogger(io.Discard, "info")})
	for _, w := range wants {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("run: %v, want %q", err, w)
		}
	}
	if _, serr := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(serr) {
		t.Error("a refused start created the state folder")
	}
}
