package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The loop pings after every passing check and never after a failing one.
// The check blocks until the test answers, so every step is ordered by the
// handshake rather than by timing; the read deadlines are hang guards.
func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	dir, err := os.MkdirTemp("", "xw")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	t.Setenv("NOTIFY_SOCKET", path)

	ctx, cancel := context.WithCancel(context.Background())
	calls, answers := make(chan struct{}), make(chan error)
	// After cancel the check passes, so that only the test's own failures
	// are logged.
	healthy := func() error {
		select {
		case calls <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		select {
		case err := <-answers:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	var logs strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		runWatchdog(ctx, time.Millisecond, healthy, NewLogger(&logs, "info"))
	}()
	buf := make([]byte, 64)
	expectPing := func() {
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := sock.Read(buf)
		if err != nil || string(buf[:n]) != "WATCHDOG=1" {
			t.Fatalf("want WATCHDOG=1, got %q, %v", buf[:n], err)
		}
	}
	step := func(err error) { <-calls; answers <- err }

	step(nil)
	expectPing()
	step(errors.New("wedged"))
	step(errors.New("still wedged"))
	<-calls // the loop is past both failed checks: any ping would be queued by now
	sock.SetReadDeadline(time.Now())
	if n, err := sock.Read(buf); err == nil {
		t.Fatalf("pinged after a failed check: %q", buf[:n])
	}
	answers <- nil
	expectPing()
	cancel()
	<-done
	if got := strings.Count(logs.String(), "health check failed"); got != 1 {
		t.Errorf("failure logged %d times, want once per episode:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "health check passes again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// Outside systemd (no WATCHDOG_USEC) Watchdog returns at once.
func TestWatchdogOffWithoutSystemd(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	Watchdog(context.Background(), func() error { t.Fatal("checked without a watchdog"); return nil }, NewLogger(os.Stderr, "info"))
}
