package peercred_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/internal/peercred"
	"golang.org/x/sys/unix"
)

func ownCred() peercred.Cred {
	return peercred.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid())}
}

// socketPair returns both ends of a connected Unix socket pair; the kernel
// reports this process as the peer of each.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

func TestFromConn(t *testing.T) {
	a, _ := socketPair(t)
	got, err := peercred.FromConn(a)
	if err != nil {
		t.Fatal(err)
	}
	if got != ownCred() {
		t.Fatalf("FromConn = %+v, want %+v", got, ownCred())
	}
	p, _ := net.Pipe()
	defer p.Close()
	if _, err := peercred.FromConn(p); err == nil {
		t.Fatal("FromConn(net.Pipe) succeeded")
	}
}

// scripted is a listener that hands out a fixed list of connections.
type scripted struct {
	net.Listener
	conns []net.Conn
}

func (s *scripted) Accept() (net.Conn, error) {
	if len(s.conns) == 0 {
		return nil, net.ErrClosed
	}
	c := s.conns[0]
	s.conns = s.conns[1:]
	return c, nil
}

// syncBuffer lets a server goroutine log while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger() (*slog.Logger, *syncBuffer) {
	buf := new(syncBuffer)
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

func TestListenerDropsUnidentifiedConns(t *testing.T) {
	pipe, pipePeer := net.Pipe()
	good, _ := socketPair(t)
	logger, logs := newLogger()
	ln := peercred.Listener{Listener: &scripted{conns: []net.Conn{pipe, good}}, Logger: logger}

	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if cred, ok := peercred.ConnCred(c); !ok || cred != ownCred() {
		t.Fatalf("ConnCred = %+v, %v; want %+v", cred, ok, ownCred())
	}
	if _, err := pipePeer.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("unidentified conn left open: write = %v", err)
	}
	if !strings.Contains(logs.String(), "peer credentials unreadable") {
		t.Errorf("drop not logged: %s", logs)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on exhausted listener = %v", err)
	}
	if _, ok := peercred.ConnCred(pipe); ok {
		t.Fatal("ConnCred of a plain conn reported credentials")
	}
}

func TestServerHandshakeRefusesUnwrapped(t *testing.T) {
	a, _ := socketPair(t)
	if _, _, err := peercred.TransportCredentials().ServerHandshake(a); err == nil {
		t.Fatal("ServerHandshake accepted a conn that did not come from peercred.Listener")
	}
}
