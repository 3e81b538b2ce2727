package daemon

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// forceGate coalesces forced refreshes of one token and bounds how many a
// caller may send to the network (2,000 forced calls used to make 2,000
// token exchanges and 2,000 grants). A client forces a refresh because a
// server refused its token. So:
//
//   - a forced request while a forced refresh of the same token runs
//     waits for it and is served its token;
//   - one within forceWindow after a forced refresh fetched a token, from
//     a caller that has not been handed that token, is served it: the
//     caller was refused an older one;
//   - any other reaches the network, and spends one of the caller's
//     budget (forceBurst, then one per forceEvery): a caller refused the
//     very token the last forced refresh fetched may ask again, but not
//     without end.
//
// A caller is a process (callerID): the kernel vouches for nothing finer.
type forceGate struct {
	clock clock.Clock
	seed  maphash.Seed

	mu      sync.Mutex
	last    map[uint64]*forced   // by hash of resource and scope set
	handed  map[handedKey]uint64 // hash of the token last handed to a caller, by token
	budgets map[callerID]*budget
}

// forced is the last forced refresh of one token.
type forced struct {
	done  chan struct{} // closed when it ended
	at    time.Time     // when it ended
	ok    bool          // whether it fetched a token
	token uint64        // the hash of that token
}

type handedKey struct {
	caller callerID
	key    uint64
}

// budget is a caller's token bucket of forced refreshes.
type budget struct {
	left int
	at   time.Time // when left was last topped up
}

func newForceGate(c clock.Clock) *forceGate {
	return &forceGate{clock: c, seed: maphash.MakeSeed(), last: map[uint64]*forced{},
		handed: map[handedKey]uint64{}, budgets: map[callerID]*budget{}}
}

// admit decides a forced request of caller for token key: force is true
// when it must reach the network (then done records what it fetched);
// false when it is to be served the token another forced refresh fetched,
// for which admit first waits if that one still runs.
func (g *forceGate) admit(ctx context.Context, caller callerID, key string) (force bool, done func(token string, err error), err error) {
	k := maphash.String(g.seed, key)
	g.mu.Lock()
	now := g.clock.Now()
	if e := g.last[k]; e != nil {
		select {
		case <-e.done:
			if e.ok && now.Sub(e.at) < forceWindow && g.handed[handedKey{caller, k}] != e.token {
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
	g.last[k] = e
	return true, func(token string, err error) {
		g.mu.Lock()
		e.at, e.ok, e.token = g.clock.Now(), err == nil, maphash.String(g.seed, token)
		g.mu.Unlock()
		close(e.done)
	}, nil
}

// handedOut records that caller was handed token for key (by any
// GetToken), so that its next forced request is known for a repeat.
func (g *forceGate) handedOut(caller callerID, key, token string) {
	hk := handedKey{caller, maphash.String(g.seed, key)}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.handed[hk]; !ok && len(g.handed) >= maxTrackedCallers {
		// Forgetting one only makes that caller's next forced request
		// cheaper: it is served the last forced refresh's token.
		for k := range g.handed {
			delete(g.handed, k)
			break
		}
	}
	g.handed[hk] = maphash.String(g.seed, token)
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
