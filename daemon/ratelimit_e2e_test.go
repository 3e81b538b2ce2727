package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/broker/upstream"
	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// t0 is where the fake clocks of these tests start.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// endpointStatus returns the Status entry of the token endpoint of kind, nil
// before the daemon has called it.
func endpointStatus(t *testing.T, c *client.Client, kind xaadv1.UpstreamKind) *xaadv1.UpstreamStatus {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range st.GetUpstreams() {
		if u.GetKind() == kind {
			return u
		}
	}
	return nil
}

// awaitUpstream polls Status until the endpoint of kind is in the state
// cond wants, and returns it. The 30 s bound only stops a hung test.
func awaitUpstream(t *testing.T, c *client.Client, kind xaadv1.UpstreamKind, what string, cond func(*xaadv1.UpstreamStatus) bool) *xaadv1.UpstreamStatus {
	t.Helper()
	stop := time.Now().Add(30 * time.Second)
	for {
		if u := endpointStatus(t, c, kind); u != nil && cond(u) {
			return u
		}
		if time.Now().After(stop) {
			t.Fatalf("the %s token endpoint never showed %s: %v", kind, what, endpointStatus(t, c, kind))
		}
		runtime.Gosched()
	}
}

const (
	idpKind = xaadv1.UpstreamKind_UPSTREAM_KIND_IDP
	asKind  = xaadv1.UpstreamKind_UPSTREAM_KIND_AUTHORIZATION_SERVER
)

type tokenResult struct {
	tok *client.Token
	err error
}

func getTokenAsync(c *client.Client, req client.TokenRequest) <-chan tokenResult {
	ch := make(chan tokenResult, 1)
	go func() {
		tok, err := c.GetToken(context.Background(), req)
		ch <- tokenResult{tok, err}
	}()
	return ch
}

// tokenRequests counts what reached the testbed's two token endpoints.
func tokenRequests(tb *testbed.Testbed) int {
	return tb.Requests(testbed.EndpointIdPToken) + tb.Requests(testbed.EndpointASToken)
}

// A 429 with Retry-After: 7 stops every request to the IdP for 7 seconds:
// the caller waits at the daemon, nothing reaches the testbed meanwhile,
// and the caller gets its token once the pause ends. A caller whose
// deadline comes first is told at once, with the time to come back.
func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnvOn(t, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	url := e.tb.MCP.URL()
	e.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Throttle(429, "7"))

	first := getTokenAsync(c, client.TokenRequest{Resource: url})
	idp := awaitUpstream(t, c, idpKind, "a held caller", func(u *xaadv1.UpstreamStatus) bool {
		return u.GetHeldUntil() != nil && u.GetQueuedCallers() == 1
	})
	end := t0.Add(7 * time.Second)
	if got := idp.GetHeldUntil().AsTime(); !got.Equal(end) || !strings.Contains(idp.GetHoldReason(), "Retry-After") ||
		idp.GetCounters().GetTooManyRequests() != 1 {
		t.Fatalf("IdP endpoint %v, want held until %s by the Retry-After of one 429", idp, end)
	}
	sent := tokenRequests(e.tb)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := c.GetToken(ctx, client.TokenRequest{Resource: url})
	if !client.IsUpstreamUnavailable(err) || status.Code(err) == codes.DeadlineExceeded ||
		!strings.Contains(err.Error(), end.Format(time.RFC3339)) {
		t.Fatalf("a caller with a 3 s deadline: %v, want UPSTREAM_UNAVAILABLE at once, naming %s", err, end.Format(time.RFC3339))
	}

	for range 6 {
		clk.Advance(time.Second)
		if n := tokenRequests(e.tb); n != sent {
			t.Fatalf("at +%s, %d requests reached the token endpoints during the pause", clk.Now().Sub(t0), n-sent)
		}
	}
	awaitUpstream(t, c, idpKind, "the caller still waiting", func(u *xaadv1.UpstreamStatus) bool { return u.GetQueuedCallers() == 1 })
	clk.Advance(time.Second)
	r := <-first
	if r.err != nil {
		t.Fatalf("the caller after the pause: %v", r.err)
	}
	// The exchange and the grant, both at or after the time the server named.
	if n := tokenRequests(e.tb) - sent; n != 2 {
		t.Errorf("%d token requests after the pause, want the exchange and the grant", n)
	}
	for _, rec := range e.tb.RequestLog() {
		if (rec.Endpoint == testbed.EndpointIdPToken || rec.Endpoint == testbed.EndpointASToken) && rec.Status != 429 && rec.At.Before(end) {
			t.Errorf("%s request at +%s, before the pause ended", rec.Endpoint, rec.At.Sub(t0))
		}
	}
}

// scopeNames are the scope names of a testbed whose server has many, so that
// one server gives as many distinct tokens, each a cold fetch of its own.
func scopeNames(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("s%d", i)
	}
	return s
}

// runAll waits for every result, moving the fake clock on only while a
// request waits at one of the daemon's gates, so the requests really are
// concurrent and the gates pace them.
func runAll(t *testing.T, c *client.Client, clk *clock.Fake, results []<-chan tokenResult) []tokenResult {
	t.Helper()
	out := make([]tokenResult, len(results))
	stop := time.Now().Add(60 * time.Second)
	for i, ch := range results {
		for done := false; !done; {
			select {
			case out[i] = <-ch:
				done = true
				continue
			default:
			}
			if time.Now().After(stop) {
				t.Fatal("the requests never finished")
			}
			if queued(t, c) {
				clk.Advance(100 * time.Millisecond)
			} else {
				runtime.Gosched()
			}
		}
	}
	return out
}

// queued reports whether a request waits at any gate.
func queued(t *testing.T, c *client.Client) bool {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range st.GetUpstreams() {
		if u.GetQueuedCallers()+u.GetQueuedBackground() > 0 {
			return true
		}
	}
	return false
}

// Ten servers asked for at once, cold (ten `xaactl proxy` starting
// together), against an IdP and an AS that allow 4 requests per second
// per user (Okta's figure): all ten tokens, and not one 429.
func TestColdStartStaysUnderTheIdPLimit(t *testing.T) {
	clk := clock.NewFake(t0)
	const n = 10
	e := newEnvWithOn(t, testbed.Options{ExtraMCPServers: n - 1}, "", clk)
	for _, ep := range []testbed.Endpoint{testbed.EndpointIdPToken, testbed.EndpointASToken} {
		e.tb.SetRateLimit(ep, testbed.RateLimit{Rate: 4})
	}
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	var results []<-chan tokenResult
	for _, m := range e.tb.MCPs {
		results = append(results, getTokenAsync(c, client.TokenRequest{Resource: m.URL()}))
	}
	for i, r := range runAll(t, c, clk, results) {
		if r.err != nil {
			t.Errorf("server %d: %v", i, r.err)
		} else if r.tok.Resource != e.tb.MCPs[i].URL() {
			t.Errorf("server %d got a token for %s", i, r.tok.Resource)
		}
	}
	cnt := e.tb.Counters()
	if m := cnt.TooManyRequests; m[testbed.EndpointIdPToken]+m[testbed.EndpointASToken] != 0 {
		t.Errorf("429s: %v, want none", m)
	}
	if cnt.TokenExchanges != n || cnt.JWTBearerGrants != n {
		t.Errorf("%d exchanges and %d grants, want %d of each", cnt.TokenExchanges, cnt.JWTBearerGrants, n)
	}
	// Without the daemon's limit the same ten would have met the testbed's:
	// more than 4 within one second of its clock.
	if w := busiestSecond(e.tb.RequestLog(), testbed.EndpointIdPToken); w > 4 {
		t.Errorf("%d IdP requests within one second", w)
	}
}

// busiestSecond is the most requests to ep within any one second.
func busiestSecond(log []testbed.RequestRecord, ep testbed.Endpoint) int {
	var at []time.Time
	for _, r := range log {
		if r.Endpoint == ep {
			at = append(at, r.At)
		}
	}
	most := 0
	for i := range at {
		n := 0
		for _, u := range at[i:] {
			if u.Sub(at[i]) < time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// A server's huge Retry-After is clipped: the hold ends at the 10-minute
// cap, not a day and a half later, and the daemon logs it once per hold
// however many requests meet it.
func TestHugeRetryAfterIsClipped(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnvWithOn(t, testbed.Options{Scopes: scopeNames(3)}, "", clk)
	logs := &syncBuffer{}
	e.log = logs
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	e.tb.SetFault(testbed.EndpointIdPToken, testbed.Throttle(503, "129600")) // 36 hours
	const clipped = "the server asked for a longer pause than xaad honours"
	end := t0.Add(10 * time.Minute)
	ask := func(scope string) error {
		_, err := c.GetToken(context.Background(), client.TokenRequest{Resource: e.tb.MCP.URL(), Scopes: []string{scope}})
		return err
	}
	// Refused at once: the flight's own deadline comes before the cap.
	if err := ask("s0"); !client.IsUpstreamUnavailable(err) || !strings.Contains(err.Error(), end.Format(time.RFC3339)) {
		t.Fatalf("during the clipped pause: %v, want UPSTREAM_UNAVAILABLE naming %s", err, end.Format(time.RFC3339))
	}
	idp := endpointStatus(t, c, idpKind)
	if got := idp.GetHeldUntil().AsTime(); !got.Equal(end) || idp.GetCounters().GetClipped() != 1 || !strings.Contains(idp.GetHoldReason(), "clipped") {
		t.Fatalf("IdP endpoint %v, want held until the cap, %s, by one clipped answer", idp, end)
	}
	if err := ask("s1"); !client.IsUpstreamUnavailable(err) {
		t.Fatalf("a second caller during the pause: %v", err)
	}
	if n := e.tb.Requests(testbed.EndpointIdPToken); n != 1 {
		t.Errorf("%d requests reached the IdP during the pause, want the one that was answered", n)
	}
	if n := logs.count(clipped); n != 1 {
		t.Errorf("%d log lines about the clipped pause, want 1", n)
	}
	clk.Advance(10 * time.Minute)
	if err := ask("s2"); !client.IsUpstreamUnavailable(err) {
		t.Fatalf("after the cap, the server still refuses: %v", err)
	}
	if n := e.tb.Requests(testbed.EndpointIdPToken); n != 2 {
		t.Errorf("%d requests reached the IdP, want one more once the cap ended", n)
	}
	if n := logs.count(clipped); n != 2 {
		t.Errorf("%d log lines about clipped pauses, want one per hold (2)", n)
	}
}

// Background refreshes wait behind callers: with refreshes queued at the
// IdP's limit, callers that come later are let through first (the
// testbed's request log has their exchanges before the queued ones).
func TestBackgroundWaitsBehindCallers(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnvWithOn(t, testbed.Options{Scopes: scopeNames(6)}, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	url := e.tb.MCP.URL()
	req := func(s string) client.TokenRequest { return client.TokenRequest{Resource: url, Scopes: []string{s}} }
	var warm []<-chan tokenResult
	for _, s := range []string{"s0", "s1", "s2"} {
		warm = append(warm, getTokenAsync(c, req(s)))
	}
	for i, r := range runAll(t, c, clk, warm) {
		if r.err != nil {
			t.Fatalf("token %d: %v", i, r.err)
		}
	}
	// step moves the clock on once the refresh loop sleeps again, so it
	// never sees more time pass than its timer (which it would take for a
	// suspend, and re-plan).
	idle := clk.Waiters()
	step := func(d time.Duration) {
		clk.Advance(d)
		for clk.Waiters() < idle {
			runtime.Gosched()
		}
	}
	// At +37 min, before any refresh is due, the IdP asks for a pause of
	// 10 minutes: the refreshes that come due meanwhile are turned away at
	// once and planned for its end, where they meet together.
	usedAgain := false
	for clk.Now().Before(t0.Add(37 * time.Minute)) {
		step(10 * time.Second)
		if !usedAgain && !clk.Now().Before(t0.Add(36*time.Minute)) {
			usedAgain = true
			// The three tokens are in use (asked for again from the
			// cache, within the quarter of their lifetime before their
			// refresh points), so they are refreshed in the background.
			for _, s := range []string{"s0", "s1", "s2"} {
				if tok, err := c.GetToken(context.Background(), req(s)); err != nil || tok.NextRefreshAt.IsZero() {
					t.Fatalf("token %s asked for again: %v, next refresh %v", s, err, tok)
				}
			}
		}
	}
	e.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Throttle(429, "600"))
	if _, err := c.GetToken(context.Background(), req("s3")); !client.IsUpstreamUnavailable(err) {
		t.Fatalf("the caller that met the 429: %v", err)
	}
	end := clk.Now().Add(10 * time.Minute)
	for !clk.Now().After(end.Add(time.Second)) {
		step(10 * time.Second)
	}
	// The clock stands still: the queued refreshes wait for it, and only
	// the callers can go until it moves. Once both have reached the gate
	// (let through or queued), time runs again.
	idp := awaitUpstream(t, c, idpKind, "refreshes queued", func(u *xaadv1.UpstreamStatus) bool { return u.GetQueuedBackground() >= 2 })
	sent := idp.GetCounters().GetSent()
	mark := len(e.tb.RequestLog())
	callers := []<-chan tokenResult{getTokenAsync(c, req("s4")), getTokenAsync(c, req("s5"))}
	awaitUpstream(t, c, idpKind, "both callers at the gate", func(u *xaadv1.UpstreamStatus) bool {
		return u.GetCounters().GetSent()+uint64(u.GetQueuedCallers()) == sent+2
	})
	for i, r := range runAll(t, c, clk, callers) {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
	}
	// Let the queued refreshes finish too: three tokens at first, their
	// three refreshes and the two callers'. s3's failed fetch is not
	// retried in the background: it left no token, and nobody asked since.
	for stop := time.Now().Add(30 * time.Second); e.tb.JWTBearerGrants() < 8; {
		if time.Now().After(stop) {
			t.Fatalf("%d grants, want 8", e.tb.JWTBearerGrants())
		}
		if queued(t, c) {
			clk.Advance(100 * time.Millisecond)
		} else {
			runtime.Gosched()
		}
	}
	// The request that was let through before the callers came may
	// complete after them; every other refresh comes after both.
	inflight := int(sent)
	var order []string
	for i, r := range e.tb.RequestLog() {
		if r.Endpoint != testbed.EndpointIdPToken {
			continue
		}
		if i < mark {
			inflight--
		} else {
			order = append(order, r.Form.Get("scope"))
		}
	}
	ahead, callersSeen := 0, 0
	for _, s := range order {
		if s == "s4" || s == "s5" {
			callersSeen++
		} else if callersSeen < 2 {
			ahead++
		}
	}
	if callersSeen != 2 || ahead > inflight {
		t.Errorf("IdP exchanges after the refreshes were queued: %v (%d of them let through before), want the callers s4 and s5 ahead of the queued ones", order, inflight)
	}
}

// The rate limits come from [idp] and [[authorization_server]], and a
// reload (SIGHUP) changes the limit of the gates already in use.
func TestReloadAppliesRateLimits(t *testing.T) {
	e := newEnv(t, "")
	e.path = filepath.Join(e.dir, "xaad.toml")
	logs := &syncBuffer{}
	e.log = logs
	write := func(idp, as string) {
		t.Helper()
		text := strings.Replace(e.text, "[idp]\n", "[idp]\n"+idp, 1) + as
		if err := os.WriteFile(e.path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	limits := func(c *client.Client) (idp, as string) {
		t.Helper()
		show := func(u *xaadv1.UpstreamStatus) string {
			return fmt.Sprintf("%g/%d %s", u.GetRateLimit(), u.GetRateBurst(), u.GetSetting())
		}
		return show(endpointStatus(t, c, idpKind)), show(endpointStatus(t, c, asKind))
	}
	write("rate_limit = 1\nrate_burst = 1\n", "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	if _, err := c.GetToken(context.Background(), client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	section := "rate_limit and rate_burst in the [[authorization_server]] section of " + e.tb.AS.Issuer()
	if idp, as := limits(c); idp != "1/1 rate_limit and rate_burst in [idp]" || as != "2/2 "+section {
		t.Fatalf("limits at start: IdP %s, AS %s", idp, as)
	}

	write("rate_limit = 4\nrate_burst = 3\n", "rate_limit = 0.5\n")
	n := logs.count("configuration reloaded")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for stop := time.Now().Add(10 * time.Second); logs.count("configuration reloaded") <= n; {
		if time.Now().After(stop) {
			t.Fatal("no reload in the daemon log after SIGHUP")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if idp, as := limits(c); idp != "4/3 rate_limit and rate_burst in [idp]" || as != "0.5/2 "+section {
		t.Errorf("limits after the reload: IdP %s, AS %s", idp, as)
	}
}

// unlimited gives e's daemon the most the rate limits allow, for tests on
// a fake clock that send more than a burst at one instant and test
// something else than the limit (nobody moves the clock while a request
// waits its turn).
func unlimited(e *env) {
	rate, burst := float64(upstream.MaxRate), upstream.MaxBurst
	e.cfg.IdP.RateLimit, e.cfg.IdP.RateBurst = &rate, &burst
	for i := range e.cfg.AuthServers {
		e.cfg.AuthServers[i].RateLimit, e.cfg.AuthServers[i].RateBurst = &rate, &burst
	}
}
