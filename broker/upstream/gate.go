package upstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// Priority orders requests at a gate.
type Priority uint8

const (
	// Caller is a request someone waits for: a token a client asked for
	// that the cache cannot serve. Callers go in the order they came.
	Caller Priority = iota
	// Background is proactive work, such as refreshing a token that is
	// still valid. It goes only when no caller waits, and leaves callers
	// one request of the burst.
	Background
)

func (p Priority) String() string {
	switch p {
	case Caller:
		return "caller"
	case Background:
		return "background"
	}
	return fmt.Sprintf("priority(%d)", uint8(p))
}

// DefaultMaxQueue bounds how many requests of one priority may wait at one
// endpoint. A daemon has a handful of servers and runs a few background
// refreshes at a time; hundreds waiting means something upstream is wrong,
// and more would only grow memory.
const DefaultMaxQueue = 256

// Config configures a [Gate].
type Config struct {
	// Name says what the gate guards in errors and status, for example
	// "IdP token endpoint https://idp.example/token".
	Name string
	// Limit is the token bucket; zero fields take [DefaultLimit]'s.
	Limit Limit
	// Setting names the configuration key that sets Limit, so an error
	// can say what to change, for example "rate_limit in [idp]".
	Setting string
	// MaxQueue bounds each priority's queue; 0 means [DefaultMaxQueue].
	MaxQueue int
	// Clock tells time and makes the gate's timer; nil means clock.System.
	Clock clock.Clock
}

// Gate guards one upstream token endpoint: a [Pacer] for the arithmetic,
// a FIFO queue per [Priority], and at most one timer, armed for the head of
// the queue. Every request to the endpoint, whatever its kind, calls Wait
// (or WaitUntil) first and reports its answer with Observe or
// ObserveError; [Gate.Do] does both. A Gate is safe for concurrent use and starts no goroutine
// that outlives its waiters.
type Gate struct {
	name     string
	setting  string
	clk      clock.Clock
	maxQueue int

	mu sync.Mutex
	// changed is broadcast whenever a queue changes, so tests can wait
	// for a state instead of sleeping.
	changed *sync.Cond
	pacer   Pacer
	queues  [2][]*waiter // by Priority, each in arrival order
	hold    Hint         // the answer that set the current hold
	stats   Stats
	// The one timer, armed for the head's turn; timerStop ends its
	// goroutine when the timer is no longer wanted.
	timer     clock.Timer
	timerAt   time.Time
	timerStop chan struct{}
}

// New returns a gate with a full bucket and empty queues.
func New(cfg Config) (*Gate, error) {
	if cfg.Name == "" {
		cfg.Name = "upstream token endpoint"
	}
	p, err := NewPacer(cfg.Limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	g := &Gate{
		name: cfg.Name, setting: cfg.Setting, clk: clock.OrSystem(cfg.Clock),
		maxQueue: cfg.MaxQueue, pacer: *p,
	}
	if g.maxQueue <= 0 {
		g.maxQueue = DefaultMaxQueue
	}
	g.changed = sync.NewCond(&g.mu)
	return g, nil
}

// Wait returns when a request of priority p may go, or at once with a
// [*WaitError] when ctx's deadline comes before the request's turn, before
// the end of a server's hold, or when the queue is full. A request that is
// admitted but whose turn is pushed past its deadline by a later hold is
// turned away with the same error when that hold arrives. A cancelled ctx
// ends the wait with ctx's error.
//
// A context's deadline is on the system clock; the gate judges it on its
// own clock as the time left, so a gate on a fake clock honours real
// timeouts as durations.
func (g *Gate) Wait(ctx context.Context, p Priority) error {
	return g.WaitUntil(ctx, p, time.Time{})
}

// WaitUntil is Wait with a deadline on the gate's clock as well, for
// work whose deadline is not a context's, such as a background refresh
// that is useless once the token it renews has expired. The zero time
// means none; the earlier of deadline and ctx's applies.
func (g *Gate) WaitUntil(ctx context.Context, p Priority, deadline time.Time) error {
	if p > Background {
		return fmt.Errorf("%s: unknown priority %d", g.name, p)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: before waiting for a request slot: %w", g.name, err)
	}
	w := &waiter{prio: p, done: make(chan struct{})}
	g.mu.Lock()
	now := g.clk.Now()
	w.since, w.deadline = now, earliest(ctx, deadline, now)
	if err := g.admitLocked(w, now); err != nil {
		g.mu.Unlock()
		return err
	}
	g.pumpLocked(now)
	g.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return g.leave(w, ctx.Err())
	}
}

// earliest is the earlier of deadline and ctx's deadline moved onto the
// gate's clock; zero when neither is set.
func earliest(ctx context.Context, deadline, now time.Time) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return deadline
	}
	// The one reading of the system clock here: a context's deadline is
	// on it by definition.
	mapped := now.Add(time.Until(d))
	if deadline.IsZero() || mapped.Before(deadline) {
		return mapped
	}
	return deadline
}

// Do waits for a slot of priority p, calls f and observes its error: the
// one wrapper for every call to the endpoint.
func (g *Gate) Do(ctx context.Context, p Priority, f func(context.Context) error) error {
	if err := g.Wait(ctx, p); err != nil {
		return err
	}
	err := f(ctx)
	g.ObserveError(err)
	return err
}

// leave takes w out of its queue after its context ended. A request let
// through in the meantime keeps its slot: it has been counted as sent.
func (g *Gate) leave(w *waiter, cause error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	default:
	}
	g.removeLocked(w)
	g.stats.Cancelled++
	g.changed.Broadcast()
	g.pumpLocked(g.clk.Now()) // the head may have changed
	return fmt.Errorf("%s: gave up waiting for a request slot: %w", g.name, cause)
}

// SetLimit changes the limit, for a configuration reload. Waiters whose
// turn moves past their deadline are turned away.
func (g *Gate) SetLimit(l Limit) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clk.Now()
	if err := g.pacer.SetLimit(l, now); err != nil {
		return fmt.Errorf("%s: %w", g.name, err)
	}
	g.failLateLocked(now)
	g.pumpLocked(now)
	return nil
}
