package peercred

import (
	"fmt"
	"net"
	"syscall"
)

// Cred is what the kernel reports about the peer of a Unix socket: its user,
// group and process at the time it connected (or, seen from a client, the
// time the server called listen).
type Cred struct {
	UID uint32
	GID uint32
	PID int32
}

// FromConn reads the peer credentials of a Unix socket connection. Other
// connections, including wrapped ones that hide their descriptor, give an
// error.
func FromConn(c net.Conn) (Cred, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Cred{}, fmt.Errorf("peer credentials: %T has no file descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var (
		cred    Cred
		credErr error
	)
	if err := raw.Control(func(fd uintptr) { cred, credErr = getsockoptCred(int(fd)) }); err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", credErr)
	}
	return cred, nil
}
