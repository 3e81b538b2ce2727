package daemon

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// forceGate coalesces forced refreshes of one token and bounds how many a
// caller may send to the network. A client forces a refresh because a
// server refused its token; when another forced refresh of the same token
// runs, or fetched it less than forceWindow ago, that token is the answer
// and a new one would only cost the IdP and the authorization server a
// round trip each (2,000 forced calls used to make 2,000 of each).
type forceGate struct {
	clock clock.Clock
	seed  maphash.Seed

	mu      sync.Mutex
	last    map[uint64]*forced // by hash of resource and scope set
	budgets map[callerID]*budget
}

// forced is the last forced refresh of one token.
type forced struct {
	done chan struct{} // closed when it ended
	at   time.Time     // when it ended
	ok   bool          // whether it fetched a token
}

// budget is a caller's token bucket of forced refreshes.
type budget struct {
	left int
	at   time.Time // when left was last topped up
}

func newForceGate(c clock.Clock) *forceGate {
	return &forceGate{clock: c, seed: maphash.MakeSeed(), last: map[uint64]*forced{}, budgets: map[callerID]*budget{}}
}

// admit decides a forced request of caller for token key: force is true
// when it must reach the network (then done records its outcome); false
// when it is to be served the token another forced refresh fetched, for
// which admit first waits if that one still runs.
func (g *forceGate) admit(ctx context.Context, caller callerID, key string) (force bool, done func(error), err error) {
	h := maphash.String(g.seed, key)
	g.mu.Lock()
	now := g.clock.Now()
	if e := g.last[h]; e != nil {
		select {
		case <-e.done:
			if e.ok && now.Sub(e.at) < forceWindow {
				g.mu.Unlock()
				return false, nil, nil
			}
		default:
			g.mu.Unlock()
			select {
			case <-e.done:
				return false, nil, nil
			case <-ctx.Done():
				return false, nil, toStatus(ctx.Err())
			}
		}
	}
	defer g.mu.Unlock()
	if err := g.takeLocked(caller, now); err != nil {
		return false, nil, err
	}
	if len(g.last) >= maxTrackedForces {
		g.pruneLocked(now)
	}
	if len(g.last) >= maxTrackedForces {
		return false, nil, limitExceeded("%d forced refreshes are running or were made in the last %s, xaad's limit; retry without force_refresh", maxTrackedForces, forceWindow)
	}
	e := &forced{done: make(chan struct{})}
	g.last[h] = e
	return true, func(err error) {
		g.mu.Lock()
		e.at, e.ok = g.clock.Now(), err == nil
		g.mu.Unlock()
		close(e.done)
	}, nil
}

// takeLocked spends one of caller's forced refreshes.
func (g *forceGate) takeLocked(caller callerID, now time.Time) error {
	b := g.budgets[caller]
	if b == nil {
		if len(g.budgets) >= maxTrackedCallers {
			g.pruneBudgetsLocked(now)
		}
		b = &budget{left: forceBurst, at: now}
		g.budgets[caller] = b
	}
	b.topUp(now)
	if b.left == 0 {
		wait := forceEvery - now.Sub(b.at)
		return limitExceeded("process %d made %d forced refreshes that reached the network, then one per %s, its limit; retry in %s, or without force_refresh",
			caller.pid, forceBurst, forceEvery, wait.Round(time.Second))
	}
	b.left--
	return nil
}

func (b *budget) topUp(now time.Time) {
	steps := int(now.Sub(b.at) / forceEvery)
	if steps <= 0 {
		return
	}
	b.left += steps
	b.at = b.at.Add(time.Duration(steps) * forceEvery)
	if b.left >= forceBurst {
		b.left, b.at = forceBurst, now
	}
}

// pruneLocked forgets forced refreshes that no longer coalesce anything.
func (g *forceGate) pruneLocked(now time.Time) {
	for h, e := range g.last {
		select {
		case <-e.done:
			if !e.ok || now.Sub(e.at) >= forceWindow {
				delete(g.last, h)
			}
		default:
		}
	}
}

// pruneBudgetsLocked forgets full budgets (a new one is full too), then,
// if that was not enough, any: a forgotten caller starts afresh.
func (g *forceGate) pruneBudgetsLocked(now time.Time) {
	for id, b := range g.budgets {
		if b.topUp(now); b.left == forceBurst {
			delete(g.budgets, id)
		}
	}
	for id := range g.budgets {
		if len(g.budgets) < maxTrackedCallers {
			break
		}
		delete(g.budgets, id)
	}
}
