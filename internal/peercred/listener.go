package peercred

import (
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
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
	// Limiter, when set, bounds the connections held open (see [Limits]).
	Limiter *Limiter
}

// Accept waits for the next connection whose peer credentials can be read
// and that the Limiter, if any, has room for. A connection over a limit is
// either returned refused (every call on it fails, see [ConnInterceptors])
// or, when too many refused ones are open already, closed.
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
		pc := &conn{Conn: c, cred: cred}
		if l.Limiter == nil {
			pc.proc = pinConn(c, cred.PID)
			return pc, nil
		}
		s, victim, lerr := l.Limiter.admit(cred, pc)
		if victim != nil {
			victim.Close()
			l.logEviction(cred)
		}
		if lerr != nil {
			if rc := l.refuse(pc, lerr); rc != nil {
				return rc, nil
			}
			continue
		}
		// Pinned only once admitted: the bound holds the descriptors.
		pc.lim, pc.slot, pc.proc = l.Limiter, s, pinConn(c, cred.PID)
		return pc, nil
	}
}

// refuse keeps a refused connection open for Linger, unpinned, so its
// caller learns which limit it hit; or closes it when too many are.
func (l Listener) refuse(pc *conn, lerr *LimitError) net.Conn {
	if n, _ := l.Limiter.counts(); worthLogging(n) {
		l.logger().Warn("refused a connection", "pid", pc.cred.PID, "uid", pc.cred.UID, "limit", lerr.Limit, "max", lerr.Max, "refused_so_far", n)
	}
	if !l.Limiter.holdRefused() {
		pc.Conn.Close()
		return nil
	}
	_ = pc.Conn.SetDeadline(time.Now().Add(l.Limiter.lim.Linger))
	pc.lim, pc.refusal = l.Limiter, lerr
	return pc
}

func (l Listener) logEviction(newcomer Cred) {
	if _, n := l.Limiter.counts(); worthLogging(n) {
		l.logger().Warn("closed an idle connection to make room: the connection limit is reached",
			"max", l.Limiter.lim.Total, "for_pid", newcomer.PID, "evicted_so_far", n)
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
	proc *handle // nil for a refused connection: it is never pinned

	lim     *Limiter
	slot    *slot       // its place in lim; nil when refused or unlimited
	refusal *LimitError // why lim refused it, or nil

	closeOnce sync.Once
}

// Close closes the connection and releases the process pin and its place
// in the limiter.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		if c.proc != nil {
			c.proc.close()
		}
		switch {
		case c.slot != nil:
			c.lim.release(c.slot)
		case c.refusal != nil:
			c.lim.dropRefused()
		}
	})
	return c.Conn.Close()
}

// SetDeadline, SetReadDeadline and SetWriteDeadline leave a refused
// connection's deadline alone: gRPC clears deadlines after its handshake,
// and a refused connection must end at its Linger.
func (c *conn) SetDeadline(t time.Time) error {
	if c.refusal != nil {
		return nil
	}
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	if c.refusal != nil {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.refusal != nil {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
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
