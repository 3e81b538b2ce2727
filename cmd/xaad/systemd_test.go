package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testenv"
)

// These tests run the shipped units and binaries under real systemd tools
// (docs/toolchain.md §4, recipes B and C). The waits below are hang guards
// that poll for a state, never assertions about how long something takes.

// ctl runs xaactl with env and optional stdin; it returns stdout+stderr.
func ctl(t *testing.T, bin string, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitFor polls cond until it holds; the deadline only keeps a broken run
// from hanging the suite.
func waitFor(t *testing.T, what string, cond func() bool, debug func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s\n%s", what, debug())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn imports a fresh testbed ID token through xaactl.
func signIn(t *testing.T, xaactl string, env []string, tb *testbed.Testbed) {
	t.Helper()
	idt, err := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ctl(t, xaactl, env, idt, "login", "--id-token-file", "-"); err != nil {
		t.Fatalf("xaactl login: %v\n%s", err, out)
	}
}

// Recipe B: systemd-socket-activate holds the socket and execs the daemon on
// the first connection, which is what a socket unit does, minus the manager.
func TestSystemdSocketActivate(t *testing.T) {
	ssa := testenv.Tool(t, "systemd-socket-activate", "systemd")
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	dir, err := os.MkdirTemp("", "xb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	xaad, xaactl := buildXaad(t, dir), buildXaactl(t, dir)
	cfg := testConfig(t, dir, tb)
	sock := filepath.Join(dir, "xaad.sock")

	logFile := filepath.Join(dir, "xaad.log")
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	log := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	// --allow-root: the suite may run as root (CI); xaad refuses it otherwise.
	cmd := exec.Command(ssa, "-l", sock, "--fdname=grpc", xaad, "run", "--allow-root", "--config", cfg, "--state-dir", filepath.Join(dir, "state"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	waitFor(t, "the listening socket", func() bool { _, err := os.Stat(sock); return err == nil }, log)

	env := []string{"XAAD_SOCKET=" + sock}
	// The first connection starts the daemon.
	if out, err := ctl(t, xaactl, env, "", "status"); err != nil {
		t.Fatalf("xaactl status: %v\n%s\n%s", err, out, log())
	}
	signIn(t, xaactl, env, tb)
	if out, err := ctl(t, xaactl, env, "", "token", tb.MCP.URL(), "--format", "json"); err != nil {
		t.Fatalf("xaactl token: %v\n%s\n%s", err, out, log())
	}
	// systemd-socket-activate exec'd the daemon in its own place: this
	// SIGTERM reaches the daemon, which must stop cleanly.
	cmd.Process.Signal(os.Interrupt)
	err = <-exited
	stopped = true
	if err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, log())
	}
	if !strings.Contains(log(), "(from systemd)") {
		t.Errorf("the daemon did not take the passed socket:\n%s", log())
	}
}
