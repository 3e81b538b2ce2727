package broker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Scheduler limits and defaults.
const (
	// maxSleep bounds how long the loop sleeps, so it notices suspends
	// and clock jumps, and pings the watchdog, at least this often.
	maxSleep = 30 * time.Second
	// jumpTolerance is how far wall time may drift from the timer before
	// the loop treats it as a suspend or a clock jump.
	jumpTolerance = time.Minute
	// resyncSpread spreads the refreshes that a jump makes due at once.
	resyncSpread = 30 * time.Second
	// maxParallelRefresh bounds concurrent background refreshes.
	maxParallelRefresh = 8
	// minRefreshGap is the least time between two refreshes of one token.
	minRefreshGap = 10 * time.Second
	// DefaultIdleAfter stops background refresh of a server nobody asked for.
	DefaultIdleAfter = 12 * time.Hour
)

// sched is the scheduling state of one (server, scopes) token. Guarded by
// Broker.mu, except lastUsed which the cache path updates under a read lock.
type sched struct {
	scopes []string
	// next is when the background refresh is due.
	next time.Time
	// attempt counts consecutive transient failures since the last success.
	attempt int
	lastErr *Error
	// permanent reports that lastErr cannot be fixed by retrying; only a
	// new login, configuration or a forced request tries again.
	permanent bool
	inflight  bool
	lastUsed  atomic.Int64 // unix nanoseconds
}

func (e *sched) used() time.Time { return time.Unix(0, e.lastUsed.Load()) }

// touch records a request for (srv, scopes), creating its schedule entry.
func (b *Broker) touch(srv *server, key string, scopes []string) {
	now := b.now().UnixNano()
	b.mu.RLock()
	e := srv.sched[key]
	b.mu.RUnlock()
	if e != nil {
		e.lastUsed.Store(now)
		return
	}
	b.mu.Lock()
	e = b.schedEntryLocked(srv, key, scopes)
	b.mu.Unlock()
	e.lastUsed.Store(now)
	b.wakeup()
}

func (b *Broker) schedEntryLocked(srv *server, key string, scopes []string) *sched {
	if srv.sched == nil {
		srv.sched = map[string]*sched{}
	}
	e, ok := srv.sched[key]
	if !ok {
		e = &sched{scopes: scopes}
		if t, ok := srv.tokens[key]; ok {
			e.next = RefreshAt(t.RefreshedAt, t.ExpiresAt, b.rand())
		}
		e.lastUsed.Store(b.now().UnixNano())
		srv.sched[key] = e
	}
	return e
}

// failFast returns the recorded error of (srv, key) when a request must not
// go upstream: the error is permanent, or the entry is backing off. It keeps
// clients asking during an outage from multiplying upstream attempts.
func (b *Broker) failFast(srv *server, key string) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e := srv.sched[key]
	if e == nil || e.lastErr == nil {
		return nil
	}
	if e.permanent {
		return &Error{Reason: e.lastErr.Reason, Msg: e.lastErr.Msg + " (not retried until the configuration or sign-in changes; force a refresh to try now)", Err: e.lastErr.Err, Permanent: true}
	}
	if b.now().Before(e.next) {
		return &Error{Reason: e.lastErr.Reason, Msg: e.lastErr.Msg + " (next attempt at " + e.next.UTC().Format(time.TimeOnly) + " UTC; force a refresh to try now)", Err: e.lastErr.Err}
	}
	return nil
}

// afterRefreshLocked updates the schedule after a refresh of (srv, key).
func (b *Broker) afterRefreshLocked(srv *server, key string, scopes []string, t *Token, err *Error) {
	e := b.schedEntryLocked(srv, key, scopes)
	now := b.now()
	if err == nil {
		e.attempt, e.lastErr, e.permanent = 0, nil, false
		e.next = RefreshAt(t.RefreshedAt, t.ExpiresAt, b.rand())
		// Whatever the server claims, never refresh in a tight loop.
		if floor := now.Add(minRefreshGap); e.next.Before(floor) {
			e.next = floor
		}
		b.wakeup()
		return
	}
	e.lastErr = err
	if err.Permanent {
		e.permanent = true
		return
	}
	defer b.wakeup()
	e.attempt++
	var remaining time.Duration
	if cur, ok := srv.tokens[key]; ok {
		remaining = cur.ExpiresAt.Sub(now)
	}
	e.next = now.Add(Backoff(e.attempt, remaining, b.rand()))
}

// resetPermanent lets every entry try again: called when sign-in or
// configuration changed what a permanent error depended on.
func (b *Broker) resetPermanent() {
	b.mu.Lock()
	now := b.now()
	for _, srv := range b.servers {
		for _, e := range srv.sched {
			if e.lastErr != nil {
				e.permanent, e.attempt, e.lastErr = false, 0, nil
				e.next = now
			}
		}
	}
	b.mu.Unlock()
	b.wakeup()
}

func (b *Broker) wakeup() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// job is one background refresh the loop starts.
type job struct {
	srv    *server
	key    string
	scopes []string
}

// due collects the refreshes due at now, marks them in flight, and returns
// them with the time of the next due refresh.
func (b *Broker) due(now time.Time) ([]job, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := now.Add(maxSleep)
	var jobs []job
	for _, srv := range b.servers {
		if srv.keepWarm && srv.sched[scopeKey(nil)] == nil {
			b.schedEntryLocked(srv, scopeKey(nil), nil).next = now
		}
		for key, e := range srv.sched {
			if e.inflight || e.permanent {
				continue
			}
			if !srv.keepWarm && now.Sub(e.used()) > b.idleAfter {
				continue // idle: refreshed again when someone asks
			}
			if e.next.IsZero() && srv.tokens[key] == nil && !srv.keepWarm {
				continue // asked for but never obtained: the caller's flight owns it
			}
			if !now.Before(e.next) {
				e.inflight = true
				jobs = append(jobs, job{srv, key, e.scopes})
				continue
			}
			if e.next.Before(next) {
				next = e.next
			}
		}
	}
	return jobs, next
}

// Run keeps every used or keep-warm token fresh until ctx ends: each token
// is refreshed in the background once about a third of its lifetime
// remains, failures back off, and a suspend or clock jump makes every
// server due again at once (spread by jitter). It returns nil when ctx ends.
func (b *Broker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxParallelRefresh)
	for {
		now := b.clock.Now()
		b.lastTick.Store(now.UnixNano())
		b.turns.Add(1)
		jobs, next := b.due(now)
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					b.clearInflight(j)
					return
				}
				defer func() { <-sem }()
				b.background(ctx, j)
			}()
		}
		sleep := next.Sub(now)
		if sleep > maxSleep {
			sleep = maxSleep
		}
		if sleep < backoffMin {
			sleep = backoffMin
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case <-b.clock.After(sleep):
			if wall := b.clock.Now().Sub(now); jumped(wall, sleep) {
				b.log.Info("clock jump or resume detected; re-evaluating every server", slog.Duration("wall_elapsed", wall), slog.Duration("timer", sleep))
				b.Resync()
			}
		}
	}
}

// jumped reports whether wall time moved differently from a timer of
// length timer by more than the tolerance: a suspend (the monotonic timer
// stood still while wall time ran) or a wall-clock change.
func jumped(wall, timer time.Duration) bool {
	return wall > timer+jumpTolerance || wall < timer-jumpTolerance
}

// background refreshes one token through the same single flight as callers.
func (b *Broker) background(ctx context.Context, j job) {
	defer b.clearInflight(j)
	ch := b.flights.DoChan(tokenKey(j.srv.url, j.key), func() (any, error) {
		return b.flight(func(fctx context.Context) (any, error) { return b.refresh(fctx, j.srv, j.scopes) })
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

func (b *Broker) clearInflight(j job) {
	b.mu.Lock()
	if e := j.srv.sched[j.key]; e != nil {
		e.inflight = false
	}
	b.mu.Unlock()
	b.wakeup()
}

// rand draws the jitter; Config.Rand makes it reproducible in tests.
func (b *Broker) rand() float64 {
	if b.cfg.Rand != nil {
		return b.cfg.Rand()
	}
	return rand.Float64()
}

// Resync makes every scheduled token due now, spread over a few seconds,
// and forgets backoff: after a suspend or clock jump the old timers and the
// old failures say nothing about the present.
func (b *Broker) Resync() {
	b.mu.Lock()
	now := b.now()
	for _, srv := range b.servers {
		for key, e := range srv.sched {
			if e.permanent {
				continue
			}
			e.attempt = 0
			planned := e.next
			if t, ok := srv.tokens[key]; ok {
				planned = RefreshAt(t.RefreshedAt, t.ExpiresAt, b.rand())
			}
			if !planned.After(now) {
				planned = now.Add(time.Duration(b.rand() * float64(resyncSpread)))
			}
			e.next = planned
		}
	}
	b.mu.Unlock()
	b.wakeup()
}

// Turns counts the scheduler loop's turns. The loop turns at least every
// 30 s while it is healthy, so a watchdog that sees the count stand still
// over several of its own (monotonic) ticks knows the loop is stuck,
// without reading wall time, which may jump.
func (b *Broker) Turns() uint64 { return b.turns.Load() }

// LastTick is when the scheduler loop last ran; the daemon's watchdog pings
// systemd only while it is recent, so a wedged loop is noticed.
func (b *Broker) LastTick() time.Time {
	v := b.lastTick.Load()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}
