package socket

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrInUse is returned by Listen when a live daemon already answers on the
// socket path.
var ErrInUse = errors.New("socket in use")

// probeTimeout bounds the liveness dial. A live daemon accepts from its
// backlog at once; the bound only matters for a wedged one.
const probeTimeout = time.Second

// Listen makes the directory of path private (0700, ours), refuses to take
// over a socket that a live daemon answers on (ErrInUse), removes a stale
// one, and listens on path with mode 0600. Closing the listener removes the
// socket file, so a clean stop leaves nothing behind.
//
// Two daemons racing through the stale check could both remove and bind; the
// daemon opens its database first, whose lock admits only one of them.
func Listen(path string) (net.Listener, error) {
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// bind(2) creates the file with 0777 &^ umask. Changing the umask around
	// it would affect every goroutine creating files at that moment, since
	// umask is per process. Chmod after bind is safe instead: until the chmod
	// the file sits in a directory only we can enter.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	return ln, nil
}

// privateDir creates dir with mode 0700 or checks an existing one: it must be
// a real directory owned by our uid; group or world access is removed.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	// Lstat: a symlink could point somewhere another user controls.
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory (mode %v)", dir, fi.Mode())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("socket directory %s: cannot read owner", dir)
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("socket directory %s is owned by uid %d, not by us (uid %d); refusing to use it", dir, st.Uid, uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("restrict socket directory %s: %w", dir, err)
		}
	}
	return nil
}

// clearStale removes a leftover socket file at path that nobody answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (mode %v); refusing to remove it", path, fi.Mode())
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%w: another xaad is serving %s", ErrInUse, path)
	}
	// Only "connection refused" proves nobody listens; anything else (a
	// full backlog, a permission error) might hide a live daemon.
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
