package broker

import (
	"context"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// flightPlan is how the upstream calls of one flight wait at the gates:
// at whose priority and until which deadline. Every participant of a
// shared flight holds the same plan, so a caller who joins background
// work raises it to a caller's, and the flight's next wait (or the one in
// progress) is a caller's.
type flightPlan struct {
	key  string
	refs int // participants; guarded by flightPlans.mu

	mu   sync.Mutex
	prio upstream.Priority
	// deadline is on the broker's clock; zero: only the flight's own
	// context bounds the waits.
	deadline time.Time
	// raised is cancelled when a caller joins background work.
	raised context.Context
	raise  context.CancelFunc
}

func newPlan(key string, prio upstream.Priority, deadline time.Time) *flightPlan {
	p := &flightPlan{key: key, prio: prio, deadline: deadline}
	p.raised, p.raise = context.WithCancel(context.Background())
	if prio == upstream.Caller {
		p.raise()
	}
	return p
}

// state is the priority and deadline the next wait takes.
func (p *flightPlan) state() (upstream.Priority, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prio, p.deadline
}

// join adds a participant's priority and deadline: a caller raises
// background work, and the latest of the callers' deadlines applies (a
// caller with an earlier one stops waiting on its own).
func (p *flightPlan) join(prio upstream.Priority, deadline time.Time) {
	if prio != upstream.Caller {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.prio == upstream.Background:
		p.prio, p.deadline = upstream.Caller, deadline
		p.raise()
	case p.deadline.IsZero():
	case deadline.IsZero() || deadline.After(p.deadline):
		p.deadline = deadline
	}
}

// flightPlans are the plans of the flights running, by flight key. A plan
// lives while someone takes part in its flight, so it holds at most one
// entry per flight in progress.
type flightPlans struct {
	mu sync.Mutex
	m  map[string]*flightPlan
}

// join registers a participant of the flight key and returns the plan
// the flight runs with, and the function to call when the participant
// stops waiting for it.
func (fp *flightPlans) join(key string, prio upstream.Priority, deadline time.Time) (*flightPlan, func()) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	p := fp.m[key]
	if p == nil {
		p = newPlan(key, prio, deadline)
		if fp.m == nil {
			fp.m = map[string]*flightPlan{}
		}
		fp.m[key] = p
	} else {
		p.join(prio, deadline)
	}
	p.refs++
	return p, func() { fp.leave(p) }
}

func (fp *flightPlans) leave(p *flightPlan) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	p.refs--
	if p.refs == 0 && fp.m[p.key] == p {
		delete(fp.m, p.key)
	}
}

type planCtxKey struct{}

// withPlan makes the upstream calls made with ctx wait as p says.
func withPlan(ctx context.Context, p *flightPlan) context.Context {
	return context.WithValue(ctx, planCtxKey{}, p)
}

// planOf is ctx's plan; nil for a call a caller makes on its own context
// (an assertion), which waits as a caller until ctx's deadline.
func planOf(ctx context.Context) *flightPlan {
	p, _ := ctx.Value(planCtxKey{}).(*flightPlan)
	return p
}

// asBackground is ctx for work nobody waits for (a spare, the ID token's
// planned refresh), outside any shared flight.
func asBackground(ctx context.Context) context.Context {
	return withPlan(ctx, newPlan("", upstream.Background, time.Time{}))
}

// callerDeadline is ctx's deadline on the broker's clock, zero without
// one. A context's deadline is on the system clock; the time left is what
// carries over, so a fake clock in tests keeps real timeouts.
func (b *Broker) callerDeadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Time{}
	}
	return b.now().Add(time.Until(d))
}

// isCaller reports whether ctx's calls are made for a caller.
func isCaller(ctx context.Context) bool {
	p := planOf(ctx)
	if p == nil {
		return true
	}
	prio, _ := p.state()
	return prio == upstream.Caller
}
