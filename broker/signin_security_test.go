package broker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// storedIDToken reads the ID token of the stored identity.
func storedIDToken(t *testing.T, st broker.Store) string {
	t.Helper()
	all, err := st.List("identity")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		IDToken string `json:"id_token"`
	}
	if raw, ok := all["current"]; ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
	}
	return rec.IDToken
}

// refreshGrants counts the refresh_token grants the broker sent.
func (sb *signinBed) refreshGrants() int {
	n := 0
	for _, g := range sb.rec.values("grant_type") {
		if g == "refresh_token" {
			n++
		}
	}
	return n
}

// importAged signs in with an ID token the IdP issued age ago (so its
// refresh is already due) and a live refresh token.
func (sb *signinBed) importAged(t *testing.T, age time.Duration) (idToken string) {
	t.Helper()
	idt, err := sb.tb.IdP.MintIDToken(testbed.IDTokenOptions{IssuedAt: sb.clock.Now().Add(-age)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.b.ImportIdentity(context.Background(), idt, sb.tb.IdP.IssueRefreshToken()); err != nil {
		t.Fatal(err)
	}
	return idt
}

// queueRefreshAnswer makes the IdP answer the next token request with
// idToken and a new live refresh token, which it returns.
func (sb *signinBed) queueRefreshAnswer(t *testing.T, idToken string) string {
	t.Helper()
	rt := sb.tb.IdP.IssueRefreshToken()
	body, err := json.Marshal(map[string]any{
		"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
		"id_token": idToken, "refresh_token": rt, "scope": "openid offline_access",
	})
	if err != nil {
		t.Fatal(err)
	}
	sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Body: body})
	return rt
}

// Finding 6. The IdP's clock is 55 minutes behind: the refreshed ID token
// (1 h) says it was issued 55 minutes ago. Its refresh is planned from when
// it arrived (a third of its remaining 5 minutes left), not at once: no
// second refresh_token grant follows the first.
func TestIdentityRefreshPlansFromReceiveTime(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.importAged(t, 50*time.Minute) // due 10 minutes ago
	stale, err := sb.tb.IdP.MintIDToken(testbed.IDTokenOptions{IssuedAt: sb.clock.Now().Add(-55 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	sb.queueRefreshAnswer(t, stale)
	runLoop(t, sb.b)
	if d := sb.clock.nextWait(t); d != 200*time.Second {
		t.Fatalf("next refresh planned in %s, want 3m20s (two thirds of the 5 minutes left)", d)
	}
	if n := sb.refreshGrants(); n != 1 {
		t.Errorf("%d refresh grants, want 1", n)
	}
	if id := sb.b.Identity(); !id.ExpiresAt.Equal(sb.clock.Now().Add(5 * time.Minute)) {
		t.Errorf("identity expires %s, want the refreshed token's exp", id.ExpiresAt)
	}
}

// Finding 6. The refreshed ID token expires in 6 s, so its refresh is due
// before the shortest retry: the loop backs off instead of refreshing back
// to back, then refreshes normally.
func TestIdentityRefreshAlreadyDueBacksOff(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.importAged(t, 50*time.Minute)
	due, err := sb.tb.IdP.MintIDToken(testbed.IDTokenOptions{IssuedAt: sb.clock.Now().Add(-time.Hour + 6*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	sb.queueRefreshAnswer(t, due)
	runLoop(t, sb.b)
	d := sb.clock.nextWait(t)
	if d < 2500*time.Millisecond || d > 5*time.Second {
		t.Fatalf("next refresh planned in %s, want the 5s back-off with equal jitter (2.5-5s)", d)
	}
	if n := sb.refreshGrants(); n != 1 {
		t.Fatalf("%d refresh grants, want 1", n)
	}
	sb.clock.Advance(d)
	// JWT times are whole seconds, so the plan may fall up to 1 s early.
	if d := sb.clock.nextWait(t); d <= 40*time.Minute-time.Second || d > 40*time.Minute {
		t.Fatalf("after a good refresh: next in %s, want 40m", d)
	}
	if n := sb.refreshGrants(); n != 2 {
		t.Errorf("%d refresh grants, want 2", n)
	}
}

// Finding 6. The IdP answers the refresh with the very ID token the broker
// holds (OIDC Core §12.2 allows it): nothing was renewed, so the loop backs
// off; the rotated refresh token is kept.
func TestIdentityRefreshSameIDTokenBacksOff(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	idt := sb.importAged(t, 50*time.Minute)
	exp := sb.b.Identity().ExpiresAt
	rotated := sb.queueRefreshAnswer(t, idt)
	runLoop(t, sb.b)
	d := sb.clock.nextWait(t)
	if d < 2500*time.Millisecond || d > 5*time.Second {
		t.Fatalf("next refresh planned in %s, want the 5s back-off with equal jitter (2.5-5s)", d)
	}
	if n := sb.refreshGrants(); n != 1 {
		t.Fatalf("%d refresh grants, want 1", n)
	}
	if got := storedRefreshToken(t, sb.store); got != rotated {
		t.Error("the rotated refresh token was not kept")
	}
	if id := sb.b.Identity(); !id.ExpiresAt.Equal(exp) || id.State != broker.SignedIn {
		t.Errorf("identity %+v changed", id)
	}
	sb.clock.Advance(d)
	// JWT times are whole seconds, so the plan may fall up to 1 s early.
	if d := sb.clock.nextWait(t); d <= 40*time.Minute-time.Second || d > 40*time.Minute {
		t.Fatalf("after a good refresh: next in %s, want 40m", d)
	}
}

// gate holds the broker's next request of one grant type until released.
type gate struct {
	base    http.RoundTripper
	grant   string
	mu      sync.Mutex
	armed   bool
	started chan struct{}
	release chan struct{}
}

func newGate(grantType string) *gate {
	return &gate{base: http.DefaultTransport, grant: grantType, started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(strings.NewReader(string(b)))
		f, _ := url.ParseQuery(string(b))
		g.mu.Lock()
		hold := g.armed && f.Get("grant_type") == g.grant
		if hold {
			g.armed = false
		}
		g.mu.Unlock()
		if hold {
			close(g.started)
			<-g.release
		}
	}
	return g.base.RoundTrip(req)
}

// Finding 7. A refresh made with the refresh token of the previous sign-in
// is refused after the person signed in again: the new sign-in stays
// signed in and keeps its refresh token.
func TestLateRefreshRefusalKeepsNewLogin(t *testing.T) {
	for _, code := range []string{"invalid_grant", "insufficient_user_authentication"} {
		t.Run(code, func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			g := newGate("refresh_token")
			sb.rec.base = g // before any request: no race
			if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
				t.Fatal(err)
			}
			old := storedRefreshToken(t, sb.store)
			// The ID token expires; a token request renews it, and that
			// refresh is held at the wire.
			g.arm()
			sb.clock.Advance(61 * time.Minute)
			done := make(chan error, 1)
			go func() {
				_, err := sb.b.Token(context.Background(), broker.TokenRequest{ServerURL: sb.tb.MCP.URL()})
				done <- err
			}()
			<-g.started
			if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
				t.Fatal(err)
			}
			fresh := storedRefreshToken(t, sb.store)
			if fresh == old || fresh == "" {
				t.Fatal("the second login stored no new refresh token")
			}
			sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: code, Extra: map[string]any{"max_age": "0"}})
			close(g.release)
			if err := <-done; err == nil {
				t.Fatal("the request on the old sign-in succeeded")
			}
			id := sb.b.Identity()
			if id.State != broker.SignedIn || !id.HasRefreshToken || id.MaxAge != "" {
				t.Errorf("the new sign-in was changed by the old refusal: %+v", id)
			}
			if got := storedRefreshToken(t, sb.store); got != fresh {
				t.Error("the new refresh token was dropped")
			}
			if n := sb.notes.count(); n != 0 {
				t.Errorf("%d NEEDS_LOGIN notices", n)
			}
			// Not forced: the old sign-in's refusal was not recorded as
			// the server's error either.
			if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
				t.Fatalf("the new sign-in serves no token: %v", err)
			}
		})
	}
}

// Finding 7, the exchange side. A step-up demand for the ID token of the
// previous sign-in leaves the new one alone; the same demand for the
// current ID token moves it to NEEDS_LOGIN.
func TestLateStepUpKeepsNewLogin(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	old := storedIDToken(t, sb.store)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	cur := storedIDToken(t, sb.store)
	if cur == old {
		t.Fatal("the second login kept the ID token")
	}
	stepUp := &grant.OAuthError{Status: 400, Code: "insufficient_user_authentication", MaxAge: "0", ACRValues: "phr"}
	err := sb.b.ExchangeRefusedForTest(old, stepUp)
	wantReason(t, err, broker.ReasonLoginRequired)
	if id := sb.b.Identity(); id.State != broker.SignedIn || id.ACRValues != "" {
		t.Errorf("a refusal of the old ID token changed the new sign-in: %+v", id)
	}
	_ = sb.b.ExchangeRefusedForTest(cur, stepUp)
	if id := sb.b.Identity(); id.State != broker.NeedsLogin || id.ACRValues != "phr" || id.MaxAge != "0" {
		t.Errorf("a refusal of the current ID token: %+v, want NEEDS_LOGIN with the step-up", id)
	}
	if n := sb.notes.count(); n != 1 {
		t.Errorf("%d NEEDS_LOGIN notices, want 1", n)
	}
}

// Finding 11c. Discovery that fails in transit (a connection cut mid-body,
// a document cut short, a server error) is an error, never "this IdP has no
// discovery": a token signed with a key the IdP never published is refused,
// not imported unverified.
func TestVerifyFailsClosedOnBrokenDiscovery(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault testbed.Fault
	}{
		{"connection cut", testbed.Fault{Body: []byte(`{"issuer":`), Header: http.Header{"Content-Length": {"4096"}}}},
		{"document cut", testbed.Fault{Body: []byte(`{"issuer": "https://idp.example", "jwks_uri": "https://idp.ex`)}},
		{"server error", testbed.Fault{Status: http.StatusServiceUnavailable}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{noSignIn: true})
			forged, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{ForeignKey: true})
			if err != nil {
				t.Fatal(err)
			}
			bd.tb.QueueFault(testbed.EndpointIdPMetadata, 1, tt.fault)
			_, err = bd.b.ImportIdentity(context.Background(), forged, "")
			wantReason(t, err, broker.ReasonUpstreamUnavailable)
			if st := bd.b.Identity().State; st != broker.SignedOut {
				t.Fatalf("the forged token was imported (%v)", st)
			}
			// Once discovery answers, the signature is checked.
			_, err = bd.b.ImportIdentity(context.Background(), forged, "")
			wantReason(t, err, broker.ReasonInvalidArgument)
			good, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := bd.b.ImportIdentity(context.Background(), good, "")
			if err != nil || !id.Verified {
				t.Fatalf("a good token: %+v, %v", id, err)
			}
		})
	}
}

// Finding 11c, what stays: an IdP that answers that it publishes no
// discovery (404, 405, 410, a web page) or no keys (the JWKS URL answers
// 404, as the conformance suite's IdP does) gets its claims checked only.
func TestVerifyUnverifiedWhenIdPPublishesNothing(t *testing.T) {
	for _, tt := range []struct {
		name string
		ep   testbed.Endpoint
		f    testbed.Fault
	}{
		{"discovery 404", testbed.EndpointIdPMetadata, testbed.Fault{Status: http.StatusNotFound}},
		{"discovery 405", testbed.EndpointIdPMetadata, testbed.Fault{Status: http.StatusMethodNotAllowed}},
		{"discovery 410", testbed.EndpointIdPMetadata, testbed.Fault{Status: http.StatusGone}},
		{"discovery web page", testbed.EndpointIdPMetadata, testbed.Fault{Body: []byte("<html>sign in</html>"), ContentType: "text/html"}},
		{"JWKS 404", testbed.EndpointIdPJWKS, testbed.Fault{Status: http.StatusNotFound}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{noSignIn: true})
			bd.tb.SetFault(tt.ep, tt.f)
			idt, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := bd.b.ImportIdentity(context.Background(), idt, "")
			if err != nil {
				t.Fatal(err)
			}
			if id.Verified || id.State != broker.SignedIn {
				t.Errorf("identity %+v, want signed in, unverified", id)
			}
		})
	}
}

// Finding 7, end to end: an exchange that presented the previous sign-in's
// ID token comes back insufficient_user_authentication after the person
// signed in again: mint passes the refused subject to exchangeRefusedFor,
// which leaves the new sign-in alone.
func TestLateStepUpExchangeKeepsNewLogin(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	g := newGate(grant.GrantTokenExchange)
	sb.rec.base = g
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	g.arm()
	done := make(chan error, 1)
	go func() {
		_, err := sb.b.Token(context.Background(), broker.TokenRequest{ServerURL: sb.tb.MCP.URL()})
		done <- err
	}()
	<-g.started
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: "insufficient_user_authentication", Extra: map[string]any{"acr_values": "phr"}})
	close(g.release)
	if err := <-done; err == nil {
		t.Fatal("the refused exchange succeeded")
	}
	if id := sb.b.Identity(); id.State != broker.SignedIn || id.ACRValues != "" {
		t.Errorf("the new sign-in was changed by the old refusal: %+v", id)
	}
	if n := sb.notes.count(); n != 0 {
		t.Errorf("%d NEEDS_LOGIN notices", n)
	}
}

// Status says REFRESHING while the ID token is being renewed, and SIGNED_IN
// again after.
func TestIdentityRefreshingState(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	g := newGate("refresh_token")
	sb.rec.base = g
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	g.arm()
	sb.clock.Advance(61 * time.Minute)
	done := make(chan error, 1)
	go func() {
		_, err := sb.b.Token(context.Background(), broker.TokenRequest{ServerURL: sb.tb.MCP.URL()})
		done <- err
	}()
	<-g.started
	if st := sb.b.Identity().State; st != broker.Refreshing {
		t.Errorf("state during the renewal: %v", st)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := sb.b.Identity().State; st != broker.SignedIn {
		t.Errorf("state after the renewal: %v", st)
	}
}
