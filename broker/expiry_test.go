package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// When the held token of a server runs out and no new one can be got,
// watchers hear of it at the expiry, though no refresh is tried then (the
// last one failed for good): the server has failed now, and health
// follows watchers.
func TestHeldTokenExpiryIsPublished(t *testing.T) {
	bd, clk := schedBed(t, bedOpts{})
	url := bd.tb.MCP.URL()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	// Asked for again, within the quarter of its lifetime before its
	// refresh point: in use, so its refresh is planned.
	clk.Advance(30 * time.Minute)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Status: 401})
	sub := bd.b.Subscribe(nil)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bd.b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// The planned refresh fails, and is not retried: the token is
	// served stale.
	// Each step once the three loops of Run sleep on their timers (the
	// refresh queue's, the ID token's expiry, the held token's expiry),
	// so none is armed late, past the end of the steps.
	for clk.Now().Before(tok.NextRefreshAt) {
		waitTimers(t, clk, 3)
		clk.Advance(30 * time.Second)
	}
	for {
		ev := nextEvent(t, sub)
		if ev.Server.URL == url && ev.Kind == broker.EventFailed {
			if ev.Server.State != broker.ServerStale {
				t.Fatalf("after the failed refresh: %+v", ev.Server)
			}
			break
		}
	}
	// In the same steps to the expiry.
	for clk.Now().Add(30 * time.Second).Before(tok.ExpiresAt) {
		waitTimers(t, clk, 3)
		select {
		case ev := <-sub.C:
			if ev.Server.URL == url {
				t.Fatalf("%v, while the token is valid and nothing is tried: %+v", ev.Kind, ev.Server)
			}
		default:
		}
		clk.Advance(30 * time.Second)
	}
	waitTimers(t, clk, 3)
	clk.Advance(tok.ExpiresAt.Sub(clk.Now()))
	if s := serverInfo(t, bd.b, url); s.State != broker.ServerFailed {
		t.Fatalf("state %v after the token expired, want FAILED", s.State)
	}
	for {
		ev := nextEvent(t, sub)
		if ev.Server.URL == url && ev.Server.State == broker.ServerFailed {
			if ev.Kind != broker.EventChanged || !ev.Server.TokenExpiresAt.IsZero() {
				t.Fatalf("the expiry was published as %+v", ev)
			}
			return
		}
	}
}
