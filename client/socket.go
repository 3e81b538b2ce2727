package client

import (
	"context"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/xaad-dev/xaad/internal/paths"
)

// DefaultSocketPath returns the socket the daemon listens on by default:
// $XAAD_SOCKET when set, else $XDG_RUNTIME_DIR/xaad/xaad.sock, else
// /run/user/UID/xaad/xaad.sock (where systemd puts XDG_RUNTIME_DIR for a
// logged-in user). A relative XDG_RUNTIME_DIR is ignored, as the XDG base
// directory spec requires. `xaad run` resolves its default the same way.
func DefaultSocketPath() string { return paths.Socket() }

// dialUnix connects to the daemon's socket and checks that the process on the
// other end runs as the caller or as root. The check matters because Login
// sends ID and refresh tokens to the socket and the tokens we receive are
// trusted: a socket path in a shared directory could belong to someone else.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	uid, err := peerUID(conn)
	if err == nil {
		err = checkPeerUID(uid, uint32(os.Getuid()))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// peerUID reads SO_PEERCRED of a connected Unix socket.
func peerUID(conn net.Conn) (uint32, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("peer credentials: not a unix connection (%T)", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = credErr
	}
	if err != nil {
		return 0, fmt.Errorf("peer credentials: %w", err)
	}
	return cred.Uid, nil
}

// checkPeerUID reports an error unless the daemon runs as the caller (the
// normal per-user daemon) or as root (which could read our files anyway).
func checkPeerUID(peer, self uint32) error {
	if peer == self || peer == 0 {
		return nil
	}
	return fmt.Errorf("the process serving the socket runs as uid %d, not as uid %d; refusing to talk to it", peer, self)
}
