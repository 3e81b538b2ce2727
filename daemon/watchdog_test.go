package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/clock"
)

// watchdogRig runs a watchdog on a fake clock; every check's result
// arrives on checks, every ping on pings.
type watchdogRig struct {
	f      *clock.Fake
	checks chan error
	pings  atomic.Int64
	logs   strings.Builder
	done   chan struct{}
}

const testEvery = 15 * time.Second // WatchdogSec=30s, as the unit sets

func startWatchdog(t *testing.T, f *clock.Fake, turns func() uint64) *watchdogRig {
	t.Helper()
	return startWatchdogOf(t, f, turns, nil)
}

// startWatchdogOf is startWatchdog watching the ID token loop's turns too.
func startWatchdogOf(t *testing.T, f *clock.Fake, turns, idTurns func() uint64) *watchdogRig {
	t.Helper()
	r := &watchdogRig{f: f, checks: make(chan error), done: make(chan struct{})}
	w := &watchdog{clock: f, every: testEvery, turns: turns, idTurns: idTurns, lock: func() {}, log: NewLogger(&r.logs, "info"),
		ping:    func() error { r.pings.Add(1); return nil },
		onCheck: func(err error) { r.checks <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { defer close(r.done); _ = w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		go func() {
			for range r.checks { // a check racing the cancel
			}
		}()
		<-r.done
	})
	return r
}

// tick advances one watchdog interval once the ticker and the other
// timers wanted are armed, and returns that tick's check.
func (r *watchdogRig) tick(t *testing.T, timers int) error {
	t.Helper()
	r.f.WaitTimers(timers)
	r.f.Advance(testEvery)
	select {
	case err := <-r.checks:
		return err
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("the watchdog did not check after a tick")
		return nil
	}
}

func idleBroker(t *testing.T, c clock.Clock) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{
		IdP:   broker.IdPConfig{Issuer: "https://idp.example", Auth: grant.ClientAuth{Method: grant.None, ClientID: "c"}},
		Clock: c, Logger: discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A forward wall-clock step of hours (an NTP correction, a person setting
// the clock) must not stop the pings of a daemon whose scheduler turns:
// liveness is counted in monotonic ticks and scheduler turns. Jump moves
// only wall time, as a clock step does.
func TestWatchdogIgnoresWallClockSteps(t *testing.T) {
	f := clock.NewFake(t0)
	b := idleBroker(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); _ = b.Run(ctx) }()
	defer func() { cancel(); <-schedDone }()

	r := startWatchdog(t, f, b.Turns)
	if err := <-r.checks; err != nil {
		t.Fatalf("first check: %v", err)
	}
	for i := range 40 { // ten minutes, five times the stall limit
		if i%4 == 0 {
			f.Jump(6 * time.Hour)
		}
		// Four timers: the watchdog's ticker and the sleeps of the
		// scheduler, the ID token loop and the expiry watch.
		if err := r.tick(t, 4); err != nil {
			t.Fatalf("tick %d after wall-clock steps: %v", i, err)
		}
	}
	if got := r.pings.Load(); got != 41 {
		t.Fatalf("%d pings in 41 checks", got)
	}
}

// A scheduler that stops turning stops the pings once schedulerStall has
// passed on the watchdog's own ticks, and they resume when it turns again.
func TestWatchdogStopsWhenSchedulerStalls(t *testing.T) {
	f := clock.NewFake(t0)
	var turns atomic.Uint64
	r := startWatchdog(t, f, turns.Load)
	<-r.checks
	stall := stallTicks(testEvery)
	for i := 1; i < stall; i++ {
		if err := r.tick(t, 1); err != nil {
			t.Fatalf("tick %d of %d without a turn: %v", i, stall, err)
		}
	}
	before := r.pings.Load()
	for range 3 {
		if err := r.tick(t, 1); err == nil || !strings.Contains(err.Error(), "has not turned") {
			t.Fatalf("check after %s without a turn: %v", schedulerStall, err)
		}
	}
	if r.pings.Load() != before {
		t.Fatal("pinged while the scheduler was stalled")
	}
	turns.Add(1)
	if err := r.tick(t, 1); err != nil {
		t.Fatalf("after the scheduler turned again: %v", err)
	}
	if r.pings.Load() != before+1 {
		t.Fatal("no ping once the scheduler turned again")
	}
	if got := strings.Count(r.logs.String(), "health check failed"); got != 1 {
		t.Errorf("failure logged %d times, want once per episode:\n%s", got, r.logs.String())
	}
	if !strings.Contains(r.logs.String(), "health check passes again") {
		t.Errorf("recovery not logged:\n%s", r.logs.String())
	}
}

// An ID token refresh loop that stops turning (hung in a refresh, say)
// stops the pings too, once identityStall has passed, though the
// scheduler turns; a real broker's loop, idle and signed out, turns often
// enough never to count as stalled.
func TestWatchdogStopsWhenIdentityLoopStalls(t *testing.T) {
	f := clock.NewFake(t0)
	var sched, id atomic.Uint64
	r := startWatchdogOf(t, f, func() uint64 { return sched.Add(1) }, id.Load)
	<-r.checks
	stall := ticksFor(identityStall, testEvery)
	for i := 1; i < stall; i++ {
		if err := r.tick(t, 1); err != nil {
			t.Fatalf("tick %d of %d without a turn of the ID loop: %v", i, stall, err)
		}
	}
	if err := r.tick(t, 1); err == nil || !strings.Contains(err.Error(), "ID token refresh loop has not turned") {
		t.Fatalf("check after %s without a turn of the ID loop: %v", identityStall, err)
	}
	id.Add(1)
	if err := r.tick(t, 1); err != nil {
		t.Fatalf("after the ID loop turned again: %v", err)
	}
}

// The real broker's loops, idle (nobody signed in), keep the watchdog
// pinging: both turn within their stall limits on the fake clock.
func TestWatchdogPassesWithIdleBrokerLoops(t *testing.T) {
	f := clock.NewFake(t0)
	b := idleBroker(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = b.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	r := startWatchdogOf(t, f, b.Turns, b.IdentityTurns)
	if err := <-r.checks; err != nil {
		t.Fatalf("first check: %v", err)
	}
	for i := range 2 * ticksFor(identityStall, testEvery) {
		// Four timers: the watchdog's ticker and the sleeps of the
		// scheduler, the ID token loop and the expiry watch.
		if err := r.tick(t, 4); err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
	}
}

// The ping is WATCHDOG=1 on systemd's notify socket.
func TestWatchdogPingReachesSystemd(t *testing.T) {
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
	if err := sdPing(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	sock.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := sock.Read(buf); err != nil || string(buf[:n]) != "WATCHDOG=1" {
		t.Fatalf("want WATCHDOG=1, got %q, %v", buf[:n], err)
	}
}

// Outside systemd (no WATCHDOG_USEC) there is no interval, and the
// watchdog returns at once without checking.
func TestWatchdogOffWithoutSystemd(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	if d := watchdogInterval(discard()); d != 0 {
		t.Fatalf("interval %v outside systemd", d)
	}
	w := &watchdog{clock: clock.NewFake(t0), every: 0, log: discard(),
		turns: func() uint64 { t.Fatal("checked without a watchdog"); return 0 }}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
