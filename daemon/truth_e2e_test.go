package daemon_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// serverStatus returns the Status entry of url.
func serverStatus(t *testing.T, c *client.Client, url string) *xaadv1.ServerStatus {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.GetServers() {
		if s.GetUrl() == url {
			return s
		}
	}
	t.Fatalf("%s is not in Status", url)
	return nil
}

// Every counter of Status is what happened, checked against the testbed's
// own count of what it issued and received.
func TestStatusCountersAreReal(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	url := e.tb.MCP.URL()
	before := time.Now()
	for range 15 { // one network refresh, then 14 cache hits
		if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()
	s := serverStatus(t, c, url)
	want := &xaadv1.ServerCounters{Requests: 15, CacheHits: 14, Refreshes: 1, TokenExchanges: 1, JwtBearerGrants: 1}
	if got := s.GetCounters(); !sameCounters(got, want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	if lu := s.GetLastUsedAt(); lu == nil || lu.AsTime().Before(before) || lu.AsTime().After(after) {
		t.Errorf("last_used_at %v, want between %s and %s", lu, before, after)
	}

	// The AS refuses the first ID-JAG once: a fresh one is minted and
	// presented, and both count. One assertion is served and counted.
	e.tb.QueueFault(testbed.EndpointASToken, 1, testbed.Fault{Error: "invalid_grant"})
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url, ForceRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Raw().GetAssertion(ctx, &xaadv1.GetAssertionRequest{Target: &xaadv1.GetAssertionRequest_Resource{Resource: url}}); err != nil {
		t.Fatal(err)
	}
	want = &xaadv1.ServerCounters{Requests: 16, CacheHits: 14, Refreshes: 2, TokenExchanges: 4, JwtBearerGrants: 3, AssertionsServed: 1}
	got := serverStatus(t, c, url).GetCounters()
	if !sameCounters(got, want) {
		t.Errorf("after a retried refresh and an assertion: counters %v, want %v", got, want)
	}
	if n := e.tb.TokenExchanges(); uint64(n) != got.GetTokenExchanges() {
		t.Errorf("the IdP issued %d ID-JAGs, Status says %d", n, got.GetTokenExchanges())
	}
	if n := e.tb.Requests(testbed.EndpointASToken); uint64(n) != got.GetJwtBearerGrants() {
		t.Errorf("the AS got %d grant requests, Status says %d", n, got.GetJwtBearerGrants())
	}
}

func sameCounters(a, b *xaadv1.ServerCounters) bool {
	return a.GetRequests() == b.GetRequests() && a.GetCacheHits() == b.GetCacheHits() && a.GetRefreshes() == b.GetRefreshes() &&
		a.GetFailures() == b.GetFailures() && a.GetTokenExchanges() == b.GetTokenExchanges() &&
		a.GetJwtBearerGrants() == b.GetJwtBearerGrants() && a.GetAssertionsServed() == b.GetAssertionsServed()
}

// watcher reads a WatchTokens stream on its own goroutine.
type watcher struct {
	msgs chan *xaadv1.WatchTokensResponse
	errs chan error
}

func watch(t *testing.T, ctx context.Context, c *client.Client) *watcher {
	t.Helper()
	stream, err := c.Raw().WatchTokens(ctx, &xaadv1.WatchTokensRequest{IncludeTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{msgs: make(chan *xaadv1.WatchTokensResponse, 64), errs: make(chan error, 1)}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				w.errs <- err
				return
			}
			w.msgs <- m
		}
	}()
	for m := w.next(t); m.GetKind() != xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END; m = w.next(t) {
	}
	return w
}

// next returns the next message; the bound only stops a hung test.
func (w *watcher) next(t *testing.T) *xaadv1.WatchTokensResponse {
	t.Helper()
	select {
	case m := <-w.msgs:
		return m
	case err := <-w.errs:
		t.Fatalf("watch: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event")
	}
	return nil
}

// expect reads n events and checks each against want, by server URL (the
// events of one change to several servers come in no set order).
func (w *watcher) expect(t *testing.T, kind xaadv1.WatchEventKind, want map[string]xaadv1.ServerState) {
	t.Helper()
	for n := len(want); n > 0; n-- {
		m := w.next(t)
		url := m.GetServer().GetUrl()
		st, ok := want[url]
		if m.GetKind() != kind || !ok || m.GetServer().GetState() != st {
			t.Fatalf("event %v for %s in state %v; want %v with %v", m.GetKind(), url, m.GetServer().GetState(), kind, want)
		}
		if kind != xaadv1.WatchEventKind_WATCH_EVENT_KIND_REFRESHED && m.GetToken() != nil {
			t.Fatalf("event %v for %s carries a token", kind, url)
		}
		delete(want, url)
	}
}

// healthOf waits until the health service of svc reports want.
func healthOf(t *testing.T, hc healthpb.HealthClient, svc string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hw, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := hw.Recv()
		if err != nil {
			t.Fatalf("health of %s never became %v: %v", svc, want, err)
		}
		if r.GetStatus() == want {
			return
		}
	}
}

// Watchers and per-server health hear of every change: a sign-in, a server
// added, a refresh, a logout (no valid token is left), a sign-in as
// someone else, and a removal (the server leaves health).
func TestWatchersHearEveryChange(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, other := e.tb.MCP.URL(), "https://other.example/mcp"
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)

	if _, err := c.AddServer(ctx, client.Server{URL: url}); err != nil {
		t.Fatal(err)
	}
	if s := serverStatus(t, c, url).GetState(); s != xaadv1.ServerState_SERVER_STATE_NEEDS_LOGIN {
		t.Errorf("signed out, the server is %v", s)
	}
	healthOf(t, hc, url, healthpb.HealthCheckResponse_NOT_SERVING)
	w := watch(t, ctx, c)
	const (
		changed   = xaadv1.WatchEventKind_WATCH_EVENT_KIND_STATE_CHANGED
		refreshed = xaadv1.WatchEventKind_WATCH_EVENT_KIND_REFRESHED
		idle      = xaadv1.ServerState_SERVER_STATE_IDLE
		needs     = xaadv1.ServerState_SERVER_STATE_NEEDS_LOGIN
	)

	e.login(t, c)
	w.expect(t, changed, map[string]xaadv1.ServerState{url: idle})
	healthOf(t, hc, url, healthpb.HealthCheckResponse_SERVING)
	if _, err := c.AddServer(ctx, client.Server{URL: other}); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed, map[string]xaadv1.ServerState{other: idle})
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil {
		t.Fatal(err)
	}
	w.expect(t, refreshed, map[string]xaadv1.ServerState{url: xaadv1.ServerState_SERVER_STATE_READY})

	if _, err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed, map[string]xaadv1.ServerState{url: needs, other: needs})
	healthOf(t, hc, url, healthpb.HealthCheckResponse_NOT_SERVING)

	e.login(t, c)
	w.expect(t, changed, map[string]xaadv1.ServerState{url: idle, other: idle})
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil {
		t.Fatal(err)
	}
	w.expect(t, refreshed, map[string]xaadv1.ServerState{url: xaadv1.ServerState_SERVER_STATE_READY})
	bob, err := e.tb.IdP.MintIDToken(testbed.IDTokenOptions{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoginImport(ctx, bob, ""); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed, map[string]xaadv1.ServerState{url: idle}) // alice's token is gone

	if err := c.RemoveServer(ctx, other); err != nil {
		t.Fatal(err)
	}
	w.expect(t, xaadv1.WatchEventKind_WATCH_EVENT_KIND_REMOVED, map[string]xaadv1.ServerState{other: idle})
	healthOf(t, hc, other, healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: other}); status.Code(err) != codes.NotFound {
		t.Errorf("health Check of a removed server: %v, want NotFound", err)
	}
}

// A logout takes the refresh plans with the tokens: Status shows no next
// refresh, and no background refresh fires later to fail for want of a
// sign-in and turn the server FAILED.
func TestLogoutClearsPlans(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	url := e.tb.MCP.URL()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil {
		t.Fatal(err)
	}
	if s := serverStatus(t, c, url); s.GetNextRefreshAt() != nil {
		t.Fatal("a refresh is planned for a token nobody asked for since its fetch")
	}
	for range 60 { // to within a quarter of its lifetime before its refresh point
		clk.WaitTimers(1)
		clk.Advance(30 * time.Second)
	}
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: url}); err != nil { // in use now
		t.Fatal(err)
	}
	if s := serverStatus(t, c, url); s.GetNextRefreshAt() == nil {
		t.Fatal("no refresh planned for a token in use")
	}
	if _, err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		s := serverStatus(t, c, url)
		if s.GetNextRefreshAt() != nil || s.GetState() != xaadv1.ServerState_SERVER_STATE_NEEDS_LOGIN ||
			s.GetLastError() != "" || s.GetCounters().GetFailures() != 0 {
			t.Fatalf("%s logout: next refresh %v, state %v, last error %q, %d failures",
				when, s.GetNextRefreshAt(), s.GetState(), s.GetLastError(), s.GetCounters().GetFailures())
		}
	}
	check("right after")
	// Two hours in the refresh loop's own steps: the old plan (about
	// 40 minutes in) passes. WaitTimers: the loop is asleep on its timer.
	for range 240 {
		clk.WaitTimers(1)
		clk.Advance(30 * time.Second)
	}
	clk.WaitTimers(1)
	check("two hours after")
}
