package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// A token used once is left to expire: no background refresh mints one
// for nobody, status says it is refreshed only when used, and the next
// GetToken fetches a fresh one from the network.
func TestTokenUsedOnceIsNotRefreshed(t *testing.T) {
	clk := clock.NewFake(time.Now())
	// The sign-in outlives the test: its renewal is not under test.
	e := newEnvWithOn(t, testbed.Options{IDTokenLifetime: 48 * time.Hour}, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	url := e.tb.MCP.URL()
	first, err := c.GetToken(ctx, client.TokenRequest{Resource: url})
	if err != nil {
		t.Fatal(err)
	}
	if !first.NextRefreshAt.IsZero() {
		t.Fatalf("a token nobody asked for since its fetch is planned for a refresh at %s", first.NextRefreshAt)
	}
	grants, exchanges := e.tb.JWTBearerGrants(), e.tb.TokenExchanges()
	// Two hours in the refresh loop's own steps, each once the loops that
	// always sleep on a timer (the refresh queue's, the ID token's) sleep
	// again: the token's refresh point (about 40 minutes in) and its
	// expiry pass. (The held token's expiry timer is not re-armed once it
	// fired, so it is not waited for.)
	for range 240 {
		clk.WaitTimers(2)
		clk.Advance(30 * time.Second)
	}
	clk.WaitTimers(2)
	if g, x := e.tb.JWTBearerGrants(), e.tb.TokenExchanges(); g != grants || x != exchanges {
		t.Fatalf("%d grants and %d exchanges in the background for a token used once", g-grants, x-exchanges)
	}
	if s := serverStatus(t, c, url); s.GetNextRefreshAt() != nil || s.GetTokenExpiresAt() != nil {
		t.Fatalf("status after the expiry: next refresh %v, token expires %v", s.GetNextRefreshAt(), s.GetTokenExpiresAt())
	}
	again, err := c.GetToken(ctx, client.TokenRequest{Resource: url})
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken == first.AccessToken || again.Source != xaadv1.TokenSource_TOKEN_SOURCE_NETWORK || !again.Expiry.After(clk.Now().Add(50*time.Minute)) {
		t.Fatalf("the request after the idle spell: same token %v, source %v, expires %s", again.AccessToken == first.AccessToken, again.Source, again.Expiry)
	}
	if g := e.tb.JWTBearerGrants(); g != grants+1 {
		t.Errorf("%d grants for the request after the idle spell, want 1", g-grants)
	}
}
