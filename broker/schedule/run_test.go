package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/internal/clock"
)

// loop is a Queue's Run on a fake clock, with a refresh function of the
// test's choosing; Stop ends it and reports Run's error.
type loop struct {
	q     *schedule.Queue
	clk   *clock.Fake
	stop  context.CancelFunc
	done  chan error
	calls chan call
}

type call struct {
	key     schedule.Key
	at      time.Time
	attempt int
}

// startLoop runs a queue prepared by seed (nil: empty). Each refresh is
// reported on calls, then handled by handle (nil: the refresh succeeds
// with a one-hour token).
func startLoop(t *testing.T, cfg schedule.Config, seed func(q *schedule.Queue), handle func(ctx context.Context, q *schedule.Queue, k schedule.Key)) *loop {
	t.Helper()
	clk := clock.NewFake(t0)
	cfg.Clock = clk
	q := newQueue(inUse(cfg))
	if seed != nil {
		seed(q)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{q: q, clk: clk, stop: cancel, done: make(chan error, 1), calls: make(chan call, 100)}
	go func() {
		l.done <- q.Run(ctx, func(ctx context.Context, k schedule.Key) {
			e, _ := q.Entry(k)
			l.calls <- call{k, clk.Now(), e.Attempt}
			if handle != nil {
				handle(ctx, q, k)
				return
			}
			now := clk.Now()
			q.Succeeded(k, now, now, now.Add(time.Hour))
		})
	}()
	t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// asleep waits until Run has gone to sleep on its timer after turn n.
func (l *loop) asleep(n uint64) {
	for l.q.Turns() < n {
		runtime.Gosched()
	}
	l.clk.WaitTimers(1)
}

// next returns the next refresh Run started; the bound only stops a hung
// test, nothing is timed by it.
func (l *loop) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-l.calls:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("no refresh started")
		return call{}
	}
}

// Run starts each refresh when it is due, not before, and keeps turning
// (at least every 30 s) while nothing is due.
func TestRunRefreshesOnTime(t *testing.T) {
	var at time.Time
	l := startLoop(t, schedule.Config{}, func(q *schedule.Queue) { at = q.Succeeded(kA, t0, t0, t0.Add(time.Hour)) }, nil)
	// Advance by exactly the loop's own sleeps until the planned time.
	for turns := uint64(1); ; turns++ {
		l.asleep(turns)
		now := l.clk.Now()
		if !now.Before(at) {
			break
		}
		if len(l.calls) > 0 {
			t.Fatalf("a refresh started at +%s, before its time", now.Sub(t0))
		}
		l.clk.Advance(min(at.Sub(now), 30*time.Second))
	}
	if c := l.next(t); c.key != kA || !c.at.Equal(at) {
		t.Fatalf("refresh of %v at +%s, planned at +%s", c.key, c.at.Sub(t0), at.Sub(t0))
	}
	if n := l.q.Turns(); n < uint64(at.Sub(t0)/(30*time.Second)) {
		t.Errorf("%d turns in %s: the loop must turn at least every 30 s", n, at.Sub(t0))
	}
}

// A plan made while Run sleeps wakes it: a refresh due in 10 s is not held
// back by a 30 s sleep.
func TestRunWakesOnNewPlan(t *testing.T) {
	l := startLoop(t, schedule.Config{}, nil, nil)
	l.asleep(1)
	at := l.q.Succeeded(kA, t0, t0, t0.Add(2*time.Second)) // floored at 10 s
	l.asleep(2)
	l.clk.Advance(at.Sub(t0))
	if c := l.next(t); !c.at.Equal(at) {
		t.Fatalf("refresh at +%s, planned at +%s", c.at.Sub(t0), at.Sub(t0))
	}
}

// At most Parallel refreshes run at once, and every due key is refreshed:
// each one that ends frees a slot and wakes the loop.
func TestRunBoundsParallel(t *testing.T) {
	gate := make(chan struct{})
	var running, peak atomic.Int64
	seed := func(q *schedule.Queue) {
		for i := range 20 {
			q.Failed(schedule.Key{Server: fmt.Sprintf("https://s%d.example/mcp", i)}, t0, schedule.Failure{Err: errors.New("x")})
		}
	}
	l := startLoop(t, schedule.Config{Parallel: 3}, seed, func(ctx context.Context, q *schedule.Queue, k schedule.Key) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-gate
		running.Add(-1)
		q.Succeeded(k, t0, t0, t0.Add(time.Hour))
	})
	l.asleep(1)
	l.clk.Advance(time.Second) // every first retry is due within 1 s
	for range 3 {
		l.next(t)
	}
	close(gate)
	for range 17 {
		l.next(t)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("%d refreshes ran at once, want 3", p)
	}
}

// A suspend (wall time runs, timers stand still) and a clock set back are
// both noticed when the timer fires: backoff is forgotten and the plan
// drawn again.
func TestRunDetectsJumps(t *testing.T) {
	for _, jump := range []time.Duration{3 * time.Hour, -2 * time.Hour} {
		t.Run(jump.String(), func(t *testing.T) {
			seed := func(q *schedule.Queue) {
				for range 4 {
					q.Failed(kA, t0, schedule.Failure{Err: errors.New("503"), Remaining: time.Hour})
				}
			}
			l := startLoop(t, schedule.Config{}, seed, func(ctx context.Context, q *schedule.Queue, k schedule.Key) {})
			l.asleep(1)
			l.clk.Jump(jump)
			l.clk.Advance(entry(t, l.q, kA).Next.Sub(t0)) // the loop's timer
			l.asleep(2)
			if e := entry(t, l.q, kA); e.Attempt != 0 {
				t.Fatalf("after a %s jump the entry still counts %d failures", jump, e.Attempt)
			}
		})
	}
}

// Run returns nil when ctx ends, after the refreshes it started.
func TestRunStopsCleanly(t *testing.T) {
	var finished atomic.Bool
	seed := func(q *schedule.Queue) { q.Failed(kA, t0, schedule.Failure{Err: errors.New("x")}) }
	l := startLoop(t, schedule.Config{}, seed, func(ctx context.Context, q *schedule.Queue, k schedule.Key) {
		<-ctx.Done()
		finished.Store(true)
	})
	l.asleep(1)
	l.clk.Advance(time.Second)
	l.next(t)
	l.stop()
	if err := <-l.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	l.done <- nil // for the cleanup
	if !finished.Load() {
		t.Fatal("Run returned before the refresh it started")
	}
}

func TestJumpDetection(t *testing.T) {
	for _, tt := range []struct {
		wall, timer time.Duration
		want        bool
	}{
		{30 * time.Second, 30 * time.Second, false},
		{31 * time.Second, 30 * time.Second, false},
		{3*time.Hour + 30*time.Second, 30 * time.Second, true}, // suspended 3 h
		{-2 * time.Hour, 30 * time.Second, true},               // clock set back
	} {
		if got := schedule.Jumped(tt.wall, tt.timer); got != tt.want {
			t.Errorf("jumped(%s, %s) = %v", tt.wall, tt.timer, got)
		}
	}
}
