package broker_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// serverInfo returns the ServerInfo of url.
func serverInfo(t *testing.T, b *broker.Broker, url string) broker.ServerInfo {
	t.Helper()
	for _, s := range b.Servers() {
		if s.URL == url {
			return s
		}
	}
	t.Fatalf("%s is not a known server", url)
	return broker.ServerInfo{}
}

// waitTimers waits until n timers are armed on c; the bound only stops a
// hung test.
func waitTimers(t *testing.T, c *clock.Fake, n int) {
	t.Helper()
	armed := make(chan struct{})
	go func() { c.WaitTimers(n); close(armed) }()
	select {
	case <-armed:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d timers were never armed: a loop is not running", n)
	}
}

// nextEvent returns the next event; the bound only stops a hung test.
func nextEvent(t *testing.T, sub *broker.Subscription) broker.Event {
	t.Helper()
	select {
	case ev := <-sub.C:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event")
		return broker.Event{}
	}
}

// A logout takes the plans with the tokens: nothing is refreshed for a
// sign-in that is gone, and the server shows it needs one, not a failure.
func TestLogoutClearsPlans(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{})
	ctx := context.Background()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bd.b.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * 60 {
		clock.Advance(time.Minute)
		if n := bd.b.TickForTest(ctx); n != 0 {
			t.Fatalf("%d background refreshes %d min after the logout", n, i+1)
		}
	}
	s := serverInfo(t, bd.b, bd.tb.MCP.URL())
	if !s.NextRefreshAt.IsZero() || s.State != broker.ServerNeedsLogin || s.Counters.Failures != 0 || s.LastError != "" {
		t.Fatalf("after logout: %+v", s)
	}
}

// Another person's sign-in starts with no plans of the previous one's.
func TestIdentitySwapClearsPlans(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{})
	ctx := context.Background()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	sub := bd.b.Subscribe(nil)
	defer sub.Close()
	bob, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bd.b.ImportIdentity(ctx, bob, ""); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub); ev.Kind != broker.EventChanged || ev.Server.State != broker.ServerIdle {
		t.Fatalf("watchers heard %+v of the swap", ev)
	}
	for range 3 * 60 {
		clock.Advance(time.Minute)
		if n := bd.b.TickForTest(ctx); n != 0 {
			t.Fatalf("%d background refreshes of alice's token for bob", n)
		}
	}
}

// Each state the API documents is produced: NEEDS_LOGIN signed out, IDLE
// signed in, FAILED, READY and STALE after fetches and failures.
func TestServerStates(t *testing.T) {
	bd := newBed(t, bedOpts{noSignIn: true})
	url := bd.tb.MCP.URL()
	ctx := context.Background()
	if _, err := bd.b.AddServer(ctx, url, nil, false); err != nil {
		t.Fatal(err)
	}
	wantState(t, bd.b, url, broker.ServerNeedsLogin)
	bd.signIn(t)
	wantState(t, bd.b, url, broker.ServerIdle)

	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Status: 401})
	if _, err := bd.token(t, broker.TokenRequest{}); err == nil {
		t.Fatal("a refused client got a token")
	}
	wantState(t, bd.b, url, broker.ServerFailed)
	bd.tb.ClearFaults()
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err != nil {
		t.Fatal(err)
	}
	wantState(t, bd.b, url, broker.ServerReady)
	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Status: 503})
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err == nil {
		t.Fatal("the refresh succeeded during the outage")
	}
	wantState(t, bd.b, url, broker.ServerStale)
	if _, err := bd.b.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	wantState(t, bd.b, url, broker.ServerNeedsLogin)
}

// While a fetch runs the server is DISCOVERING (metadata) or REFRESHING
// (the grants), with or without a valid token.
func TestServerStatesInFlight(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ep    testbed.Endpoint
		first bool // obtain a token before
		want  broker.ServerState
	}{
		{"discovery", testbed.EndpointPRM, false, broker.ServerDiscovering},
		{"grant", testbed.EndpointASToken, false, broker.ServerRefreshing},
		{"refresh of a valid token", testbed.EndpointASToken, true, broker.ServerRefreshing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Listed: an unlisted server is not registered, so not
			// listed, until it yields a token.
			bd := newBed(t, bedOpts{listed: true})
			url := bd.tb.MCP.URL()
			if tt.first {
				if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
					t.Fatal(err)
				}
			}
			bd.tb.SetFault(tt.ep, testbed.Fault{Hang: true})
			before := bd.tb.Requests(tt.ep)
			done := make(chan error, 1)
			go func() {
				_, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: url, Force: true})
				done <- err
			}()
			for bd.tb.Requests(tt.ep) == before {
				runtime.Gosched() // the call has reached the hanging endpoint
			}
			wantState(t, bd.b, url, tt.want)
			// Stop the broker at once: its flights are cancelled.
			now, cancel := context.WithCancel(context.Background())
			cancel()
			bd.b.Close(now)
			<-done
		})
	}
}

func wantState(t *testing.T, b *broker.Broker, url string, want broker.ServerState) {
	t.Helper()
	if s := serverInfo(t, b, url); s.State != want {
		t.Fatalf("state %v, want %v (%+v)", s.State, want, s)
	}
}

// Assertions count where they go: ID-JAGs minted for a server (spares
// included) and served, whether the caller named the server or its
// authorization server and resource; the IdP's own count agrees.
func TestAssertionCounters(t *testing.T) {
	// Listed: an ID-JAG does not register an unlisted server.
	bd := newBed(t, bedOpts{listed: true})
	url := bd.tb.MCP.URL()
	ctx := context.Background()
	first, err := bd.b.Assertion(ctx, broker.AssertionRequest{ServerURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bd.b.Assertion(ctx, broker.AssertionRequest{Audience: first.Audience, Resource: first.Resource}); err != nil {
		t.Fatal(err)
	}
	// Asked again within minutes: served, and a spare is minted ahead.
	if _, err := bd.b.Assertion(ctx, broker.AssertionRequest{ServerURL: url}); err != nil {
		t.Fatal(err)
	}
	bd.b.Close(ctx) // waits for the spare
	c := serverInfo(t, bd.b, url).Counters
	if c.AssertionsServed != 3 || c.TokenExchanges != 4 || c.Requests != 0 || c.JWTBearerGrants != 0 {
		t.Fatalf("counters %+v, want 3 assertions served from 4 exchanges (one spare)", c)
	}
	if n := bd.tb.TokenExchanges(); uint64(n) != c.TokenExchanges {
		t.Errorf("the IdP issued %d ID-JAGs, the counters say %d", n, c.TokenExchanges)
	}
}

// Run runs both loops: the access token is refreshed in the background
// and so is the enterprise ID token, on the one clock.
func TestRunRefreshesTokensAndSignIn(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := sb.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Asked for again: in use, so refreshed in the background.
	sb.clock.Advance(time.Second)
	if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	idExp := sb.b.Identity().ExpiresAt
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // this test follows the timers with WaitTimers instead
		for {
			select {
			case <-sb.clock.armed:
			case <-ctx.Done():
				return
			}
		}
	}()
	sub := sb.b.Subscribe(nil)
	defer sub.Close()
	done := make(chan error, 1)
	go func() { done <- sb.b.Run(ctx) }()
	// 45 minutes in 30 s steps, each once the three loops sleep on their
	// timers (the refresh queue's, the ID token's, the expiry watch's):
	// the access token is due about 40 min in, the ID token at 40.
	for i := range 90 {
		waitTimers(t, sb.clock.Fake, 3)
		if i == 60 { // still in use 30 min in, so its refresh is for someone
			if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		sb.clock.Advance(30 * time.Second)
	}
	waitTimers(t, sb.clock.Fake, 3)
	for {
		ev := nextEvent(t, sub)
		if ev.Kind == broker.EventRefreshed {
			if ev.Token.AccessToken == tok.AccessToken {
				t.Fatal("the refresh event carries the old token")
			}
			break
		}
	}
	if exp := sb.b.Identity().ExpiresAt; !exp.After(idExp) {
		t.Errorf("the ID token was not refreshed: expires %s, as before", exp)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A reload that no longer allows a server tells watchers it is removed.
func TestReconfigureRemovalIsPublished(t *testing.T) {
	bd := newBed(t, bedOpts{})
	url := bd.tb.MCP.URL()
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	sub := bd.b.Subscribe(nil)
	defer sub.Close()
	cfg := bd.cfg
	cfg.AllowUnlisted = false
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub); ev.Kind != broker.EventRemoved || ev.Server.URL != url {
		t.Fatalf("first event after the reload: %+v", ev)
	}
	if n := len(bd.b.Servers()); n != 0 {
		t.Fatalf("%d servers left", n)
	}
}
