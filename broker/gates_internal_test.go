package broker

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/upstream"
	"github.com/xaad-dev/xaad/internal/clock"
)

func quietBroker(t *testing.T, clk clock.Clock) *Broker {
	t.Helper()
	b, err := New(Config{IdP: IdPConfig{Issuer: "https://idp.example", Auth: grant.ClientAuth{Method: grant.None, ClientID: "c"}}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The gates are bounded: past maxGates the least recently used quiet one
// goes, a gate that holds requests back is never dropped, and when none
// is quiet the newcomers share one overflow gate rather than go unlimited.
func TestGatesAreBounded(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	b := quietBroker(t, clk)
	url := func(i int) string { return fmt.Sprintf("https://as%d.example/token", i) }
	held := b.gateFor(UpstreamAuthServer, url(0), "https://as0.example")
	held.Observe(http.StatusTooManyRequests, upstream.Hint{At: clk.Now().Add(time.Minute), Asked: time.Minute, Field: upstream.RetryAfter})
	for i := 1; i < 2*maxGates; i++ {
		clk.Advance(time.Millisecond)
		b.gateFor(UpstreamAuthServer, url(i), "")
	}
	if n := len(b.gates.byURL); n != maxGates {
		t.Fatalf("%d gates kept, want %d", n, maxGates)
	}
	if b.gateFor(UpstreamAuthServer, url(0), "") != held {
		t.Fatal("a gate holding requests back was dropped")
	}
	for _, g := range b.gates.byURL {
		g.Observe(http.StatusServiceUnavailable, upstream.Hint{At: clk.Now().Add(time.Minute), Asked: time.Minute, Field: upstream.RetryAfter})
	}
	a, c := b.gateFor(UpstreamAuthServer, "https://new1.example/token", ""), b.gateFor(UpstreamAuthServer, "https://new2.example/token", "")
	if a != c || a != b.gates.overflow || len(b.gates.byURL) != maxGates {
		t.Fatalf("with every gate busy, new endpoints got their own gates (%d kept)", len(b.gates.byURL))
	}
	ups := b.Upstreams()
	shared := 0
	for _, u := range ups {
		if u.URL == "" {
			shared++
		}
	}
	if len(ups) != maxGates+1 || shared != 1 {
		t.Errorf("status lists %d endpoints, %d of them the shared one; want %d and 1", len(ups), shared, maxGates+1)
	}
}

// Background work waiting at a gate moves to the callers' queue the moment
// a caller joins its flight, and waits as a caller from then on.
func TestCallerRaisesBackgroundFlight(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	b := quietBroker(t, clk)
	g := b.gateFor(UpstreamIdP, "https://idp.example/token", "https://idp.example")
	ctx := context.Background()
	// Empty the bucket, so background work has to wait.
	for range upstream.DefaultLimit.Burst {
		if err := g.Wait(ctx, upstream.Caller); err != nil {
			t.Fatal(err)
		}
	}
	plan, leave := b.plans.join("k", upstream.Background, time.Time{})
	defer leave()
	done := make(chan error, 1)
	go func() { done <- b.awaitTurn(withPlan(ctx, plan), g) }()
	waitFor(t, g, func(s upstream.Snapshot) bool { return s.Background == 1 })
	_, leave2 := b.plans.join("k", upstream.Caller, time.Time{})
	defer leave2()
	waitFor(t, g, func(s upstream.Snapshot) bool { return s.Background == 0 && s.Callers == 1 })
	if prio, _ := plan.state(); prio != upstream.Caller {
		t.Fatalf("the plan is still %s", prio)
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := g.Snapshot(); s.Stats.Background != 0 || s.Stats.Passed != 3 {
		t.Errorf("stats %+v: the raised request should have gone as a caller", s.Stats)
	}
}

// waitFor polls g until cond holds; the bound only stops a hung test.
func waitFor(t *testing.T, g *gate, cond func(upstream.Snapshot) bool) {
	t.Helper()
	stop := time.Now().Add(10 * time.Second)
	for !cond(g.Snapshot()) {
		if time.Now().After(stop) {
			t.Fatalf("gate never reached the state: %+v", g.Snapshot())
		}
		runtime.Gosched()
	}
}
