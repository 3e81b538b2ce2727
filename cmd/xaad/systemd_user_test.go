package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testenv"
)

// userManager is a real `systemd --user` in a private mount namespace
// (docs/toolchain.md §4, recipe C), with its runtime folder in rt.
type userManager struct {
	t    *testing.T
	rt   string
	home string // XDG_CONFIG_HOME, where the units are
	cmd  *exec.Cmd
	done chan error
}

func startUserManager(t *testing.T, dir, rt, configHome string) *userManager {
	t.Helper()
	// /run/systemd/system is how systemd tells it was booted with systemd;
	// a tmpfs in a private mount namespace fakes it for this manager only.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
		"mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && exec /lib/systemd/systemd --user")
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir,
		"XDG_RUNTIME_DIR=" + rt, "XDG_CONFIG_HOME=" + configHome}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	logf, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &userManager{t: t, rt: rt, home: configHome, cmd: cmd, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	waitFor(t, "the user manager", func() bool {
		_, err := os.Stat(filepath.Join(rt, "systemd", "private"))
		return err == nil
	}, func() string { b, _ := os.ReadFile(filepath.Join(dir, "manager.log")); return string(b) })
	return m
}

// ctl runs systemctl --user against this manager. `enable` finds the unit
// files itself, hence XDG_CONFIG_HOME.
func (m *userManager) ctl(args ...string) (string, error) {
	cmd := exec.Command("systemctl", append([]string{"--user"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "XDG_RUNTIME_DIR=" + m.rt, "XDG_CONFIG_HOME=" + m.home}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (m *userManager) mustCtl(args ...string) string {
	m.t.Helper()
	out, err := m.ctl(args...)
	if err != nil {
		m.t.Fatalf("systemctl --user %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// prop reads one property of xaad.service.
func (m *userManager) prop(name string) string {
	out, _ := m.ctl("show", "xaad.service", "-p", name, "--value")
	return out
}

// stop asks the manager to exit, which stops every unit, and waits.
func (m *userManager) stop() {
	m.ctl("exit")
	select {
	case <-m.done:
	case <-time.After(30 * time.Second): // hang guard
		m.cmd.Process.Kill()
		<-m.done
	}
}

// The shipped units under a real user manager: enable the socket, the first
// xaactl call starts the service, sign-in and tokens work through it, reload
// applies a good file and refuses a bad one, the watchdog restarts a daemon
// that stops pinging, and a stop is clean and leaves the socket usable.
func TestSystemdUserManager(t *testing.T) {
	testenv.Root(t, "fake a systemd-booted host in a private mount namespace (recipe C)")
	testenv.Tool(t, "unshare", "util-linux")
	testenv.Tool(t, "systemctl", "systemd")
	testenv.Tool(t, "/lib/systemd/systemd", "systemd")
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	// Not under /tmp: the unit's PrivateTmp would hide it from the service.
	dir, err := os.MkdirTemp("/run", "xaad-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	rt, configHome := filepath.Join(dir, "rt"), filepath.Join(dir, "config")
	units := filepath.Join(configHome, "systemd", "user")
	for _, d := range []string{rt, filepath.Join(configHome, "xaad"), filepath.Join(units, "xaad.service.d")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	xaad, xaactl := buildXaad(t, dir), buildXaactl(t, dir)
	raw, err := os.ReadFile(testConfig(t, dir, tb))
	if err != nil {
		t.Fatal(err)
	}
	// The key file at its default place, $XDG_CONFIG_HOME/xaad/data.key,
	// which the unit makes writable.
	good := regexp.MustCompile(`(?m)^key_file = .*\n`).ReplaceAllString(string(raw), "")
	cfgPath := filepath.Join(configHome, "xaad", "config.toml") // the default path
	writeConfig := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(good)
	for _, u := range []string{"xaad.socket", "xaad.service"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(units, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath, stopFile := filepath.Join(dir, "xaad.log"), filepath.Join(dir, "stop-watchdog")
	// The drop-in changes only what a test must: the binary, root, the log
	// (no journald here), a short watchdog, and the debug knob that stops
	// the pings.
	dropIn := fmt.Sprintf(`[Service]
ExecStart=
ExecStart=%s run --allow-root --state-dir=%%h/.local/state/xaad
Environment=XDG_CONFIG_HOME=%s %s=%s
StandardOutput=append:%s
StandardError=append:%s
WatchdogSec=3s
`, xaad, configHome, "XAAD_DEBUG_STOP_WATCHDOG", stopFile, logPath, logPath)
	if err := os.WriteFile(filepath.Join(units, "xaad.service.d", "test.conf"), []byte(dropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	daemonLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

	m := startUserManager(t, dir, rt, configHome)
	defer m.stop()
	debug := func() string {
		st, _ := m.ctl("status", "xaad.service", "xaad.socket", "--no-pager")
		mgr, _ := os.ReadFile(filepath.Join(dir, "manager.log"))
		return st + "\n--- daemon log:\n" + daemonLog() + "\n--- manager log:\n" + string(mgr)
	}
	env := []string{"XDG_RUNTIME_DIR=" + rt, "XAAD_SOCKET="}

	// The install story: enable the socket; nothing runs until asked.
	m.mustCtl("enable", "--now", "xaad.socket")
	if st := m.prop("ActiveState"); st != "inactive" {
		t.Fatalf("xaad.service is %s before anyone asked for it", st)
	}
	if out, err := ctl(t, xaactl, env, "", "status"); err != nil {
		t.Fatalf("the first xaactl status did not start xaad: %v\n%s\n%s", err, out, debug())
	}
	// Type=notify: active means the daemon sent READY=1, which it does only
	// once it serves the socket (status above was answered through it).
	if got := m.prop("Type") + "/" + m.prop("ActiveState") + "/" + m.prop("SubState"); got != "notify/active/running" {
		t.Fatalf("service state %s\n%s", got, debug())
	}
	signIn(t, xaactl, env, tb)
	if out, err := ctl(t, xaactl, env, "", "token", tb.MCP.URL()); err != nil {
		t.Fatalf("xaactl token: %v\n%s\n%s", err, out, debug())
	}
	exchanges := tb.TokenExchanges()

	// Reload a good file: the new server list applies, the token stays.
	writeConfig(good + fmt.Sprintf("[[server]]\nurl = %q\nkeep_warm = true\n", tb.MCP.URL()))
	m.mustCtl("reload", "xaad.service")
	waitFor(t, "the reload", func() bool { return strings.Contains(m.prop("StatusText"), "configuration reloaded") }, debug)
	if out, err := ctl(t, xaactl, env, "", "token", tb.MCP.URL()); err != nil || tb.TokenExchanges() != exchanges {
		t.Fatalf("token after reload: %v (exchanges %d, want %d)\n%s", err, tb.TokenExchanges(), exchanges, out)
	}

	// Reload a bad file: refused, the old configuration keeps serving.
	writeConfig(good + "bogus_key = 1\n")
	m.mustCtl("reload", "xaad.service")
	waitFor(t, "the refused reload", func() bool { return strings.Contains(m.prop("StatusText"), "reload failed") }, debug)
	if st := m.prop("ActiveState"); st != "active" || !strings.Contains(daemonLog(), "bogus_key") {
		t.Fatalf("after a bad reload: %s\n%s", st, debug())
	}
	if out, err := ctl(t, xaactl, env, "", "token", tb.MCP.URL()); err != nil || tb.TokenExchanges() != exchanges {
		t.Fatalf("token after a refused reload: %v\n%s", err, out)
	}
	writeConfig(good)

	// The watchdog: pings arrive, and a daemon that stops pinging is
	// killed and started again.
	first := m.prop("WatchdogTimestampMonotonic")
	waitFor(t, "a watchdog ping", func() bool { ts := m.prop("WatchdogTimestampMonotonic"); return ts != first && ts != "0" }, debug)
	if err := os.WriteFile(stopFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a watchdog restart", func() bool { n, _ := strconv.Atoi(m.prop("NRestarts")); return n >= 1 }, debug)
	os.Remove(stopFile)
	waitFor(t, "the restarted service", func() bool {
		out, err := ctl(t, xaactl, env, "", "status")
		return err == nil && strings.Contains(out, "signed in") && m.prop("SubState") == "running"
	}, debug)
	if !strings.Contains(daemonLog(), "health check failed") {
		t.Errorf("the daemon did not log why it stopped pinging\n%s", daemonLog())
	}

	// A clean stop; the socket stays and the next call starts xaad again.
	m.mustCtl("stop", "xaad.service")
	if r, st := m.prop("Result"), m.prop("ExecMainStatus"); r != "success" || st != "0" {
		t.Fatalf("stop: result %s, status %s\n%s", r, st, debug())
	}
	if out, err := ctl(t, xaactl, env, "", "status"); err != nil || !strings.Contains(out, "signed in") {
		t.Fatalf("xaactl status after a stop: %v\n%s\n%s", err, out, debug())
	}
	m.mustCtl("stop", "xaad.socket", "xaad.service")
	if _, err := os.Stat(filepath.Join(rt, "xaad", "xaad.sock")); !os.IsNotExist(err) {
		t.Errorf("the socket file outlived xaad.socket: %v", err)
	}
}
