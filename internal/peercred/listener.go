package peercred

import (
	"log/slog"
	"net"
	"syscall"
)

// Listener wraps a Unix-socket listener so that every connection it returns
// carries its peer's credentials, read once at accept time. A connection
// whose credentials cannot be read is closed and Accept goes on to the next.
// Use it by value or by pointer; it is safe for concurrent use if the wrapped
// listener is.
type Listener struct {
	net.Listener
	// Logger records dropped connections; nil discards.
	Logger *slog.Logger
}

// Accept waits for the next connection whose peer credentials can be read.
func (l Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cred, err := FromConn(c)
		if err != nil {
			// Fail closed: a caller we cannot identify gets nothing.
			l.logger().Warn("dropped connection: peer credentials unreadable", "error", err)
			c.Close()
			continue
		}
		return &conn{Conn: c, cred: cred, proc: pinConn(c, cred.PID)}, nil
	}
}

// pinConn pins the peer process (see [Process]) at accept time, before any
// request is read.
func pinConn(c net.Conn, pid int32) *handle {
	var h *handle
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { h = pin(int(fd), pid) })
		}
	}
	if h == nil {
		h = pin(-1, pid)
	}
	return h
}

func (l Listener) logger() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// conn is unexported so that only Listener can attach credentials: nobody
// can forge a connection that claims to be another user.
type conn struct {
	net.Conn
	cred Cred
	proc *handle
}

// Close closes the connection and releases the process pin.
func (c *conn) Close() error {
	c.proc.close()
	return c.Conn.Close()
}

// ConnCred reports the credentials a [Listener] attached to c, and whether c
// came from one.
func ConnCred(c net.Conn) (Cred, bool) {
	pc, ok := c.(*conn)
	if !ok {
		return Cred{}, false
	}
	return pc.cred, true
}
