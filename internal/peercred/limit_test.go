package peercred_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/internal/peercred"
)

// closeSignals is a Unix listener whose connections report their close,
// so a test waits for the server to let a connection go instead of
// polling for it.
type closeSignals struct {
	*net.UnixListener
	closed chan string // the client-side address is unnamed; the order of accepts names them
	n      int
}

type signalConn struct {
	*net.UnixConn
	name   string
	once   sync.Once
	closed chan string
}

func (c *signalConn) Close() error {
	c.once.Do(func() { c.closed <- c.name })
	return c.UnixConn.Close()
}

func (l *closeSignals) Accept() (net.Conn, error) {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	l.n++
	return &signalConn{UnixConn: c, name: fmt.Sprint("conn", l.n), closed: l.closed}, nil
}

type limitedServer struct {
	path   string
	lim    *peercred.Limiter
	closed chan string
}

// serveLimited serves health on a new socket through a Listener with
// limits, refusing calls on refused connections with ResourceExhausted.
func serveLimited(t *testing.T, lim peercred.Limits) *limitedServer {
	t.Helper()
	path := filepath.Join(shortDir(t), "s")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	s := &limitedServer{path: path, lim: peercred.NewLimiter(lim), closed: make(chan string, 64)}
	connUnary, connStream := peercred.ConnInterceptors(func(e *peercred.LimitError) error {
		return status.Error(codes.ResourceExhausted, e.Error())
	})
	srv := grpc.NewServer(grpc.Creds(peercred.TransportCredentials()),
		grpc.ChainUnaryInterceptor(connUnary), grpc.ChainStreamInterceptor(connStream))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(peercred.Listener{Listener: &closeSignals{UnixListener: ul, closed: s.closed}, Limiter: s.lim})
	}()
	t.Cleanup(func() { srv.Stop(); <-done })
	return s
}

// check makes one health call on a new connection and returns it with the
// call's error.
func (s *limitedServer) check(t *testing.T) (*grpc.ClientConn, error) {
	t.Helper()
	cc := dial(s.path)
	t.Cleanup(func() { cc.Close() })
	_, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
	return cc, err
}

// pins counts this process's pidfds and /proc/<pid> folder descriptors:
// what the server opens for an admitted connection.
func pins(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if target == "anon_inode:[pidfd]" || strings.HasPrefix(target, "/proc/") && !strings.Contains(target[len("/proc/"):], "/") {
			n++
		}
	}
	return n
}

// A process over its share is refused before it is pinned, told which
// limit it hit, and gets in again once one of its connections closes.
func TestConnectionLimitPerProcess(t *testing.T) {
	s := serveLimited(t, peercred.Limits{Total: 16, PerProcess: 2, OwnUID: uint32(os.Getuid()), Refused: 4, Linger: time.Minute})
	first, err := s.check(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.check(t); err != nil {
		t.Fatal(err)
	}
	before := pins(t)
	_, err = s.check(t)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "already holds 2 connections to this socket, the limit per process") {
		t.Fatalf("third connection: %v", err)
	}
	if after := pins(t); after != before {
		t.Fatalf("the refused connection was pinned: %d pin descriptors, %d before", after, before)
	}
	if got := s.lim.Open(); got != 2 {
		t.Fatalf("Open = %d, want 2", got)
	}
	first.Close()
	<-s.closed // conn1: the server let it go
	if _, err := s.check(t); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
}

// Beyond Refused open refusals, a refused connection is closed at once,
// before a byte is written.
func TestConnectionLimitRefusedClosedAtOnce(t *testing.T) {
	s := serveLimited(t, peercred.Limits{PerProcess: 1, OwnUID: uint32(os.Getuid()), Refused: 1, Linger: time.Hour})
	if _, err := s.check(t); err != nil {
		t.Fatal(err)
	}
	if _, err := s.check(t); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second connection (refused, held): %v", err)
	}
	c, err := net.Dial("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.Read(make([]byte, 64)); n != 0 || err == nil {
		t.Fatalf("third connection: read %d bytes, %v; want EOF at once", n, err)
	}
	if got := <-s.closed; got != "conn3" {
		t.Fatalf("closed %s, want conn3", got)
	}
}

// A held refusal ends at its Linger, although gRPC clears the deadline
// of every connection after its handshake.
func TestConnectionLimitRefusedEndsAtLinger(t *testing.T) {
	s := serveLimited(t, peercred.Limits{PerProcess: 1, OwnUID: uint32(os.Getuid()), Refused: 1, Linger: time.Second})
	if _, err := s.check(t); err != nil {
		t.Fatal(err)
	}
	// On a slow machine the linger may end before the call: either way
	// the call fails, and the connection must end.
	if _, err := s.check(t); status.Code(err) != codes.ResourceExhausted && status.Code(err) != codes.Unavailable {
		t.Fatalf("second connection: %v", err)
	}
	// Not a timing assertion: a bound so that a connection left open
	// fails the test instead of hanging it.
	select {
	case got := <-s.closed:
		if got != "conn2" {
			t.Fatalf("closed %s, want conn2", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the refused connection outlived its linger by a minute")
	}
}

// At the total, another process's connection takes the place of this
// process's longest idle one; this process, holding as many as anyone it
// could displace, is then refused until the other lets go.
func TestConnectionLimitTotalMakesRoomForAnotherProcess(t *testing.T) {
	s := serveLimited(t, peercred.Limits{Total: 2, PerProcess: 2, OwnUID: uint32(os.Getuid()), Refused: 4, Linger: time.Minute})
	for range 2 {
		if _, err := s.check(t); err != nil {
			t.Fatal(err)
		}
	}
	exe, _ := copyExe(t)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), connectEnv+"="+s.path)
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
	defer cmd.Wait()
	defer stdin.Close()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "connected\n" {
		t.Fatalf("child said %q", line)
	}
	if got := <-s.closed; got != "conn1" {
		t.Fatalf("closed %s for the other process, want conn1 (the longest idle)", got)
	}
	if _, err := s.check(t); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "holds 2 connections, its limit") {
		t.Fatalf("this process again, at the total: %v", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	for got := <-s.closed; got != "conn3"; got = <-s.closed {
		// conn4, the refused one, may end first.
	}
	if _, err := s.check(t); err != nil {
		t.Fatalf("after the other process let go: %v", err)
	}
}
