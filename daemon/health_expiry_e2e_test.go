package daemon_test

import (
	"context"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// When the held token runs out and none can be got (the planned refresh
// failed for good), the server's health goes NOT_SERVING at the expiry,
// though nothing is tried then: health must not show a token that is gone.
func TestHealthNotServingAtHeldTokenExpiry(t *testing.T) {
	clk := clock.NewFake(time.Now())
	// The sign-in outlives the test: only the access token expires.
	e := newEnvWithOn(t, testbed.Options{IDTokenLifetime: 48 * time.Hour}, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	url := e.tb.MCP.URL()
	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: url})
	if err != nil {
		t.Fatal(err)
	}
	// Asked for again after it was obtained, within the quarter of its
	// lifetime before its refresh point: the token is in use, so it is
	// refreshed in the background. The clock moves in the refresh loop's
	// steps, so the loop sees no jump.
	for range 60 {
		clk.WaitTimers(1)
		clk.Advance(30 * time.Second)
	}
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil {
		t.Fatal(err)
	}
	e.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Status: 401})
	hc := healthpb.NewHealthClient(rawConn(t, e.sock))
	health := func() healthpb.HealthCheckResponse_ServingStatus {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: url})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	// To the planned refresh, then in one-second steps until it has
	// failed, well before the expiry (the loops run beside these steps,
	// not in them).
	next := serverStatus(t, c, url).GetNextRefreshAt().AsTime()
	for clk.Now().Before(next.Add(-30 * time.Second)) {
		clk.WaitTimers(1)
		clk.Advance(30 * time.Second)
	}
	for serverStatus(t, c, url).GetLastError() == "" {
		if !clk.Now().Before(tok.Expiry.Add(-time.Minute)) {
			t.Fatal("the planned refresh did not fail before the token's last minute")
		}
		clk.WaitTimers(1)
		clk.Advance(time.Second)
	}
	if st := health(); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v while the stale token is valid", st)
	}
	// Then in the refresh loop's steps past the expiry, where no refresh
	// is tried (the failure was for good) and nothing else happens.
	for clk.Now().Before(tok.Expiry.Add(30 * time.Minute)) {
		if st := health(); st == healthpb.HealthCheckResponse_NOT_SERVING {
			if clk.Now().Before(tok.Expiry) {
				t.Fatalf("NOT_SERVING at %s, before the token expires at %s", clk.Now(), tok.Expiry)
			}
			return
		}
		clk.WaitTimers(1)
		clk.Advance(30 * time.Second)
	}
	t.Fatalf("health of %s is still %v half an hour after its only token expired", url, health())
}
