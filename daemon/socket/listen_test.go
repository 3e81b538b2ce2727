package socket_test

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/daemon/socket"
)

// shortDir returns a fresh directory with a short path: sun_path holds only
// 108 bytes, and t.TempDir paths embed the test name.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func mustListen(t *testing.T, path string) net.Listener {
	t.Helper()
	ln, err := socket.Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

func wantAnswers(t *testing.T, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.Close()
}

func TestListenModes(t *testing.T) {
	dir := filepath.Join(shortDir(t), "xaad")
	path := filepath.Join(dir, "x.sock")
	ln := mustListen(t, path)
	wantMode(t, dir, fs.ModeDir|0o700)
	wantMode(t, path, fs.ModeSocket|0o600)
	wantAnswers(t, path)

	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket file left after Close: %v", err)
	}
}

func TestListenFixesDirMode(t *testing.T) {
	dir := filepath.Join(shortDir(t), "xaad")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // regardless of umask
		t.Fatal(err)
	}
	mustListen(t, filepath.Join(dir, "x.sock"))
	wantMode(t, dir, fs.ModeDir|0o700)
}

func TestListenRefusesForeignDir(t *testing.T) {
	dir := "/" // owned by root: foreign unless we are root
	if os.Geteuid() == 0 {
		dir = filepath.Join(shortDir(t), "xaad")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	_, err := socket.Listen(filepath.Join(dir, "x.sock"))
	if err == nil || !strings.Contains(err.Error(), "owned by uid") {
		t.Fatalf("Listen in a foreign directory: %v, want an ownership error", err)
	}
}

func TestListenRefusesSymlinkDir(t *testing.T) {
	base := shortDir(t)
	if err := os.Symlink(base, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Listen(filepath.Join(base, "link", "x.sock")); err == nil {
		t.Fatal("Listen through a symlinked directory succeeded")
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "x.sock")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Fatalf("regular file was touched: %q, %v", b, err)
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "x.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false) // leave the file behind, as a crash would
	old.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not present: %v", err)
	}
	mustListen(t, path)
	wantAnswers(t, path)
	wantMode(t, path, fs.ModeSocket|0o600)
}

func TestListenDetectsLiveDaemon(t *testing.T) {
	path := filepath.Join(shortDir(t), "x.sock")
	mustListen(t, path)
	_, err := socket.Listen(path)
	if !errors.Is(err, socket.ErrInUse) {
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "another xaad is serving "+path) {
		t.Errorf("error %q does not name the path", err)
	}
	wantAnswers(t, path) // the live daemon's socket was left alone
}
