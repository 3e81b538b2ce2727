package peercred_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/peercred"
)

// connectEnv makes the test binary connect to the socket it names and then
// either exit at once (XAAD_TEST_EXIT=1) or wait for its stdin to close.
const connectEnv = "XAAD_TEST_PEERCRED_CONNECT"

func connectHelper(path string) int {
	c, err := net.Dial("unix", path)
	if err != nil {
		return 3
	}
	defer c.Close()
	if os.Getenv("XAAD_TEST_EXIT") == "1" {
		return 0
	}
	os.Stdout.WriteString("connected\n")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// connectFrom starts a copy of the test binary at exe that connects to ln's
// socket, and returns the server's identification of it.
func identifyChild(t *testing.T, exe string, exitFirst bool) (*peercred.Process, *exec.Cmd, io.WriteCloser) {
	t.Helper()
	dir := shortDir(t)
	path := filepath.Join(dir, "s")
	ln := peercred.Listener{Listener: listenUnix(t, path)}
	t.Cleanup(func() { ln.Close() })
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), connectEnv+"="+path)
	if exitFirst {
		cmd.Env = append(cmd.Env, "XAAD_TEST_EXIT=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if exitFirst {
		// The connection is queued in the backlog; the caller is gone
		// before the daemon even accepts it.
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	} else if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "connected\n" {
		t.Fatalf("child said %q", line)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_, ai, err := peercred.TransportCredentials().ServerHandshake(c)
	if err != nil {
		t.Fatal(err)
	}
	p := ai.(peercred.AuthInfo).Process
	if p == nil || p.PID != int32(cmd.Process.Pid) {
		t.Fatalf("Process = %+v, want pid %d", p, cmd.Process.Pid)
	}
	return p, cmd, stdin
}

// copyExe puts a copy of the test binary in a fresh folder, so the
// expected path and hash are known exactly.
func copyExe(t *testing.T) (string, string) {
	t.Helper()
	exe := filepath.Join(shortDir(t), "caller")
	copyFile(t, os.Args[0], exe, 0o755)
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return exe, hex.EncodeToString(sum[:])
}

func TestProcessIdentified(t *testing.T) {
	exe, sum := copyExe(t)
	p, cmd, stdin := identifyChild(t, exe, false)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if p.Exe != exe || p.SHA256 != sum || p.StartTime == 0 {
		t.Fatalf("Process = %+v, want exe %s sha256 %s", p, exe, sum)
	}
	if err := p.Alive(); err != nil {
		t.Fatalf("Alive while the caller runs: %v", err)
	}
	// The caller exits while its connection lives on (here, in the
	// server's hands): the identity must not be used any more.
	stdin.Close()
	cmd.Wait()
	if err := p.Alive(); !errors.Is(err, peercred.ErrExited) {
		t.Fatalf("Alive after the caller exited = %v, want ErrExited", err)
	}
}

// A caller that exits before the daemon identifies it is not identified as
// anything, even if its pid is reused by then.
func TestProcessExitedBeforeIdentified(t *testing.T) {
	exe, _ := copyExe(t)
	p, _, _ := identifyChild(t, exe, true)
	if !errors.Is(p.Err, peercred.ErrExited) || p.Exe != "" || p.SHA256 != "" {
		t.Fatalf("Process = %+v, want ErrExited and no identity", p)
	}
	if err := p.Alive(); !errors.Is(err, peercred.ErrExited) {
		t.Fatalf("Alive = %v", err)
	}
}

// Once its connection closes, a caller's pin answers "closed": its
// descriptors were released, and their numbers may already be another
// connection's.
func TestProcessAfterConnectionClosed(t *testing.T) {
	exe, _ := copyExe(t)
	dir := shortDir(t)
	path := filepath.Join(dir, "s")
	ln := peercred.Listener{Listener: listenUnix(t, path)}
	t.Cleanup(func() { ln.Close() })
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), connectEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_, ai, err := peercred.TransportCredentials().ServerHandshake(c)
	if err != nil {
		t.Fatal(err)
	}
	p := ai.(peercred.AuthInfo).Process
	if err := p.Alive(); err != nil {
		t.Fatalf("Alive while connected: %v", err)
	}
	c.Close()
	if err := p.Alive(); err == nil || !strings.Contains(err.Error(), "connection has closed") {
		t.Fatalf("Alive after the connection closed = %v", err)
	}
}
