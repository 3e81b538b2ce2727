package broker

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// Run keeps every token fresh until ctx ends, then returns nil. It runs
// both background loops under one errgroup, so neither can be forgotten:
// the refresh queue of access tokens (each refreshed once about a third
// of its lifetime remains, transient failures backed off, idle tokens left
// alone, everything re-planned after a suspend or clock jump), the
// enterprise ID token's refresh, and the watch that publishes a server's
// state when its held token runs out.
func (b *Broker) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.queue.Run(ctx, b.background) })
	g.Go(func() error { return b.runIdentityRefresh(ctx) })
	g.Go(func() error { return b.runExpiryWatch(ctx) })
	return g.Wait()
}

// background refreshes one token through the same single flight as
// callers; the flight records the outcome in the queue.
func (b *Broker) background(ctx context.Context, k schedule.Key) {
	b.mu.RLock()
	srv := b.servers[k.Server]
	b.mu.RUnlock()
	if srv == nil {
		return // removed meanwhile; so is its entry
	}
	// k.Scopes is a scopeKey: the normalised scopes, space separated.
	scopes := strings.Fields(k.Scopes)
	// At background priority, until a caller joins the flight.
	plan, leave := b.plans.join(tokenKey(srv.url, k.Scopes), upstream.Background, time.Time{})
	defer leave()
	ch := b.flights.DoChan(tokenKey(srv.url, k.Scopes), func() (any, error) {
		return b.flight(func(fctx context.Context) (any, error) { return b.refresh(withPlan(fctx, plan), srv, scopes) })
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// planKey is the queue's key of (srv, scope key).
func planKey(srv *server, key string) schedule.Key {
	return schedule.Key{Server: srv.url, Scopes: key}
}

// failFast returns the recorded error of (srv, key) when it is permanent:
// retrying cannot help until the configuration or the sign-in changes, or
// the caller forces a refresh. A transient failure does not stop a
// caller: it goes to the gates, which let it through as soon as the
// upstream has capacity (bounded by its deadline) and keep every call
// within the rate limit and the pauses servers asked for.
func (b *Broker) failFast(srv *server, key string) error {
	e, ok := b.queue.Entry(planKey(srv, key))
	if !ok || e.Err == nil || !e.Permanent {
		return nil
	}
	var last *Error
	if !errors.As(e.Err, &last) {
		return nil
	}
	return &Error{Reason: last.Reason, Msg: last.Msg + " (not retried until the configuration or sign-in changes; force a refresh to try now)", Err: last.Err, Permanent: true}
}

// recordLocked tells the queue how a refresh of (srv, key) ended: t on
// success, else err. After a success it returns when the token will be
// refreshed in the background: zero when it will not be unless someone
// asks for it first (schedule.Entry.Idle), as for a token fetched by a
// caller and not asked for since.
func (b *Broker) recordLocked(srv *server, key string, t *Token, err *Error) time.Time {
	now := b.now()
	if err == nil {
		b.queue.Succeeded(planKey(srv, key), now, t.RefreshedAt, t.ExpiresAt)
		e, _ := b.queue.Entry(planKey(srv, key))
		return e.Next
	}
	var remaining time.Duration
	if cur, ok := srv.tokens[key]; ok {
		remaining = cur.ExpiresAt.Sub(now)
	}
	b.queue.Failed(planKey(srv, key), now, schedule.Failure{Err: err, Permanent: err.Permanent, Remaining: remaining, NotBefore: holdEnd(err)})
	return time.Time{}
}

// warmLocked plans the keep-warm servers' tokens while someone is signed
// in who can get them; after a logout nothing is refreshed until a login.
func (b *Broker) warmLocked() {
	if b.ident != nil && b.ident.NeedsLogin == "" {
		b.queue.Warm(b.now())
	}
}

// retryFailed lets every failed token try again: called when sign-in or
// configuration changed what a failure (permanent ones too) depended on.
func (b *Broker) retryFailed() {
	b.unlisted.forgetFailures()
	b.queue.Retry(b.now())
}

// Resync re-plans every token now, spread over a few seconds, and forgets
// backoff: after a suspend or clock jump the old plan and the old failures
// say nothing about the present. The daemon calls it on logind's
// PrepareForSleep; Run does it when it notices a jump itself.
func (b *Broker) Resync() { b.queue.Resync(b.now()) }

// Turns counts the refresh loop's turns. The loop turns at least every
// 30 s while it is healthy, so a watchdog that sees the count stand still
// over several of its own (monotonic) ticks knows the loop is stuck,
// without reading wall time, which may jump.
func (b *Broker) Turns() uint64 { return b.queue.Turns() }

// IdentityTurns counts the ID token refresh loop's turns, as Turns does
// the refresh queue's. The loop turns at least every minute while it
// waits; a refresh of the ID token holds it for as long as the IdP takes
// (each call bounded by the HTTP timeout).
func (b *Broker) IdentityTurns() uint64 { return b.idTurns.Load() }
