package socket_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/daemon/socket"
)

// helperEnv switches the test binary into the role of a socket-activated
// daemon (see TestMain).
const helperEnv = "XAAD_TEST_SYSTEMD_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(activatedHelper())
	}
	os.Exit(m.Run())
}

// activatedHelper calls FromSystemd, prints what it got, and if it got a
// listener greets one connection on it, so the parent can tell which socket
// was chosen by dialing it.
func activatedHelper() int {
	ln, ok, err := socket.FromSystemd()
	fmt.Printf("ok=%v\nerr=%v\nlisten_pid=%q\n", ok, err, os.Getenv("LISTEN_PID"))
	if !ok {
		return 0
	}
	defer ln.Close()
	c, err := ln.Accept()
	if err != nil {
		fmt.Printf("accept=%v\n", err)
		return 1
	}
	defer c.Close()
	fmt.Fprintln(c, "hello from the activated child")
	return 0
}

type passed struct {
	name string // "" for an unnamed descriptor
	file *os.File
}

// unixFD makes a listening socket the way systemd does for a socket unit and
// returns its descriptor; the parent's own listener is closed without
// removing the file.
func unixFD(t *testing.T, path string) *os.File {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	t.Cleanup(func() { f.Close() })
	return f
}

// startActivated runs the helper with fds starting at 3 and LISTEN_* set the
// way systemd sets them. LISTEN_PID must be the child's own pid, which only
// the child knows: the shell sets it to $$ and then execs the test binary in
// its own place, keeping the pid.
func startActivated(t *testing.T, fds []passed) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	var names []string
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, os.Args[0])
	for _, p := range fds {
		names = append(names, p.name)
		cmd.ExtraFiles = append(cmd.ExtraFiles, p.file)
	}
	cmd.Env = append(os.Environ(), helperEnv+"=1", fmt.Sprintf("LISTEN_FDS=%d", len(fds)),
		// A -race binary otherwise sleeps 1s at exit.
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	if strings.Join(names, "") != "" {
		cmd.Env = append(cmd.Env, "LISTEN_FDNAMES="+strings.Join(names, ":"))
	}
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Drop our copies so the sockets die with the child and a dial cannot
	// hang if the child never accepts.
	for _, p := range fds {
		p.file.Close()
	}
	return cmd, out
}

func wantGreeting(t *testing.T, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, "activated child") {
		t.Fatalf("no greeting on %s: %q, %v", path, line, err)
	}
}

func TestFromSystemdPrefersNamedSocket(t *testing.T) {
	dir := shortDir(t)
	other, grpc := filepath.Join(dir, "other"), filepath.Join(dir, "grpc")
	cmd, out := startActivated(t, []passed{{"metrics", unixFD(t, other)}, {"grpc", unixFD(t, grpc)}})
	wantGreeting(t, grpc)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"ok=true", "err=<nil>", `listen_pid=""`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

func TestFromSystemdSingleUnnamed(t *testing.T) {
	path := filepath.Join(shortDir(t), "only")
	cmd, out := startActivated(t, []passed{{"", unixFD(t, path)}})
	wantGreeting(t, path)
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "ok=true") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestFromSystemdErrors(t *testing.T) {
	regular, err := os.CreateTemp(shortDir(t), "f")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpFile, err := tcp.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	tcp.Close()

	dir := shortDir(t)
	tests := []struct {
		name string
		fds  []passed
		want string
	}{
		{"two unnamed", []passed{{"", unixFD(t, filepath.Join(dir, "a"))}, {"", unixFD(t, filepath.Join(dir, "b"))}}, "none is named"},
		{"not a listener", []passed{{"grpc", regular}}, "none of the passed descriptors"},
		{"tcp", []passed{{"grpc", tcpFile}}, "not a Unix socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, out := startActivated(t, tt.fds)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(out.String(), "ok=false") || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("child output lacks ok=false and %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestFromSystemdNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	ln, ok, err := socket.FromSystemd()
	if ln != nil || ok || err != nil {
		t.Fatalf("FromSystemd() = %v, %v, %v; want nil, false, nil", ln, ok, err)
	}
}
