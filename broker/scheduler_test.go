package broker_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/broker/upstream"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// schedBed is a bed whose broker and testbed share a fake clock and a
// seeded jitter source, so schedules are reproducible.
func schedBed(t *testing.T, o bedOpts) (*bed, *clock.Fake) {
	t.Helper()
	o.clock = clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(7, 7))
	if o.tb.IDTokenLifetime == 0 {
		o.tb.IDTokenLifetime = 48 * time.Hour // sign-in refresh is not under test here
	}
	inner := o.configure
	o.configure = func(c *broker.Config) {
		c.Rand = func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
		// These tests drive the broker step by step on the fake clock,
		// with nobody advancing it while a request waits: a rate limit
		// that needs time to pass would stop them. Its own tests use the
		// defaults (ratelimit_test.go).
		c.Limits = broker.Limits{IdP: unlimited, Default: unlimited}
		if inner != nil {
			inner(c)
		}
	}
	return newBed(t, o), o.clock
}

// unlimited is the most a Limit allows: a request every millisecond.
var unlimited = upstream.Limit{Rate: upstream.MaxRate, Burst: upstream.MaxBurst}

// The background refresh of a token in use comes inside the window,
// before any caller needs it, and callers never wait on the network.
func TestSchedulerRefreshesInWindow(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{})
	ctx := context.Background()
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.NextRefreshAt.IsZero() {
		t.Fatalf("a token nobody asked for since its fetch says it is refreshed at %s", first.NextRefreshAt)
	}
	clock.Advance(30 * time.Minute)
	again, err := bd.token(t, broker.TokenRequest{}) // in use lately: now it is planned
	if err != nil {
		t.Fatal(err)
	}
	next := again.NextRefreshAt
	if remain := first.ExpiresAt.Sub(next); remain < 18*time.Minute || remain > 22*time.Minute {
		t.Fatalf("planned refresh %s before expiry, want 20 min +-10%%", remain)
	}
	clock.Advance(next.Sub(clock.Now()) - time.Second)
	if n := bd.b.TickForTest(ctx); n != 0 {
		t.Fatalf("%d refreshes before the planned time", n)
	}
	clock.Advance(time.Second)
	if n := bd.b.TickForTest(ctx); n != 1 {
		t.Fatalf("%d refreshes at the planned time, want 1", n)
	}
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == first.AccessToken || tok.Source != broker.SourceMemory {
		t.Fatalf("after the background refresh: same token %v, source %v", tok.AccessToken == first.AccessToken, tok.Source)
	}
	if n := bd.tb.TokenExchanges(); n != 2 {
		t.Errorf("%d exchanges, want 2", n)
	}
}

// An outage of the IdP, then of the AS, each for twice the token lifetime:
// requests are answered from cache while the token is valid, then fail
// clearly; the background's attempts stay within the backoff bound, and a
// caller with no valid token left costs one attempt and one retry (the
// rate limit, not the backoff, bounds callers); recovery is quick.
func TestOutage(t *testing.T) {
	for _, ep := range []testbed.Endpoint{testbed.EndpointIdPToken, testbed.EndpointASToken} {
		t.Run(string(ep), func(t *testing.T) {
			bd, clock := schedBed(t, bedOpts{})
			ctx := context.Background()
			tok, err := bd.token(t, broker.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			life := tok.ExpiresAt.Sub(tok.RefreshedAt)
			start := clock.Now()
			bd.tb.SetFault(ep, testbed.Fault{Status: 503})
			before := bd.tb.Requests(ep)
			const step = 10 * time.Second
			var bound float64
			servedStale, misses := 0, 0
			for clock.Now().Sub(start) < 2*life {
				clock.Advance(step)
				bd.b.TickForTest(ctx)
				now := clock.Now()
				// The ceiling of the next delay bounds how often attempts
				// can come; with uniform draws the mean delay is half of it,
				// so a quarter is a safe lower estimate.
				ceiling := schedule.BackoffCeiling(20, tok.ExpiresAt.Sub(now))
				bound += float64(step) / (float64(ceiling) / 4)
				got, err := bd.token(t, broker.TokenRequest{})
				valid := tok.ExpiresAt.Sub(now) >= 10*time.Second
				switch {
				case valid && err != nil:
					t.Fatalf("at +%s a valid token existed but the request failed: %v", now.Sub(start), err)
				case valid && got.AccessToken != tok.AccessToken:
					t.Fatalf("at +%s a different token appeared during the outage", now.Sub(start))
				case valid && got.Stale:
					servedStale++
				case !valid && err == nil:
					t.Fatalf("at +%s a token was served past its expiry", now.Sub(start))
				case !valid:
					wantReason(t, err, broker.ReasonUpstreamUnavailable)
					misses++
				}
			}
			attempts := bd.tb.Requests(ep) - before
			bound += float64(2 * misses)
			if attempts < 2 || float64(attempts) > math.Ceil(bound)+5 {
				t.Errorf("%d upstream attempts in the outage (%d requests without a valid token), want between 2 and %.0f", attempts, misses, bound)
			}
			if servedStale == 0 {
				t.Error("no request was served stale with a reason")
			}
			// Once the token expired nothing was retried in the background
			// (callers' own attempts are the misses above): the first
			// request after recovery fetches a token itself, at once.
			bd.tb.ClearFaults()
			for range 7 {
				clock.Advance(step)
				if n := bd.b.TickForTest(ctx); n != 0 {
					t.Fatalf("%d background refreshes of an expired token", n)
				}
			}
			fresh, err := bd.token(t, broker.TokenRequest{})
			if err != nil || fresh.Stale || fresh.AccessToken == tok.AccessToken || fresh.Source != broker.SourceNetwork {
				t.Fatalf("after recovery: %v (stale %v, source %v); the request should have fetched a new token", err, fresh != nil && fresh.Stale, fresh)
			}
			t.Logf("%s outage: %d attempts in %s (bound %.0f), %d stale answers", ep, attempts, 2*life, bound, servedStale)
		})
	}
}

// Permanent errors are not retried until something changes; a forced
// request tries again.
func TestPermanentErrorNotRetried(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{})
	ctx := context.Background()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Status: 401})
	for range 200 {
		clock.Advance(time.Minute)
		bd.b.TickForTest(ctx)
		bd.token(t, broker.TokenRequest{})
	}
	if n := bd.tb.Requests(testbed.EndpointASToken); n != 2 {
		t.Errorf("%d requests at the AS, want 2 (the first grant and one failed refresh)", n)
	}
	bd.tb.ClearFaults()
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err != nil {
		t.Fatalf("forced request after the fix: %v", err)
	}
}

// A server nobody asks for stops being refreshed; asking again works. A
// keep-warm server is refreshed although nobody asks.
func TestIdleAndKeepWarm(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{configure: func(c *broker.Config) { c.IdleAfter = 2 * time.Hour }})
	ctx := context.Background()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	for range 6 * 60 {
		clock.Advance(time.Minute)
		bd.b.TickForTest(ctx)
	}
	// Refreshed while in use (about every 40 min for 2 h), then left alone.
	n := bd.tb.TokenExchanges()
	if n < 3 || n > 5 {
		t.Errorf("%d exchanges over 6 h with 2 h of use, want 3-5", n)
	}
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}

	warm, wclock := schedBed(t, bedOpts{configure: func(c *broker.Config) { c.IdleAfter = time.Hour }})
	if _, err := warm.b.AddServer(ctx, warm.tb.MCP.URL(), nil, true); err != nil {
		t.Fatal(err)
	}
	for range 6 * 60 {
		wclock.Advance(time.Minute)
		warm.b.TickForTest(ctx)
	}
	// Nobody asked, yet it got a token at once and about every 40 min.
	if n := warm.tb.TokenExchanges(); n < 8 || n > 11 {
		t.Errorf("keep-warm server: %d exchanges over 6 h, want 8-11", n)
	}
}
