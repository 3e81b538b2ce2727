package broker_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

func claim(t *testing.T, jwt, name string) any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c[name]
}

// No ID-JAG minted for one sign-in is handed out after logout or to the
// next person, spares included.
func TestAssertionSparesDieWithTheSignIn(t *testing.T) {
	bd := newBed(t, bedOpts{})
	ctx := context.Background()
	req := broker.AssertionRequest{ServerURL: bd.tb.MCP.URL()}
	for range 2 { // the second call within minutes mints a spare
		if _, err := bd.b.Assertion(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bd.b.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := bd.b.Assertion(ctx, req)
	wantReason(t, err, broker.ReasonLoginRequired)
	bob, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bd.b.ImportIdentity(ctx, bob, ""); err != nil {
		t.Fatal(err)
	}
	a, err := bd.b.Assertion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if sub := claim(t, a.Assertion, "sub"); sub != "bob" {
		t.Fatalf("bob got an ID-JAG for %v", sub)
	}
}

// A refresh in flight when the person logs out does not bring its token
// back, in memory or on disk.
func TestRefreshInFlightDuringLogout(t *testing.T) {
	store := storage.NewMem()
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) { c.Store = store }})
	bd.tb.QueueFault(testbed.EndpointASToken, 1, testbed.Fault{Latency: 2 * time.Second})
	done := make(chan error, 1)
	go func() {
		_, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
		done <- err
	}()
	for bd.tb.Requests(testbed.EndpointASToken) == 0 {
		runtime.Gosched() // the grant is on its way; log out while it is
	}
	if _, err := bd.b.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the refresh begun before logout handed out a token")
	}
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonLoginRequired)
	if recs, _ := store.List("tokens"); len(recs) != 0 {
		t.Fatalf("%d token records on disk after logout", len(recs))
	}
}

// A hostile or broken authorization server's lifetimes cannot make the
// client refresh in a tight loop or overflow.
func TestAccessTokenLifetimes(t *testing.T) {
	for _, tt := range []struct {
		expiresIn string
		ok        bool
	}{
		{"0.5", false},
		{"5", false},
		{"-1", false},
		{"3600", true},
		{"1e12", true}, // clamped, not overflowed
	} {
		bd := newBed(t, bedOpts{})
		bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Body: []byte(`{"access_token":"at","token_type":"Bearer","expires_in":` + tt.expiresIn + `}`)})
		tok, err := bd.token(t, broker.TokenRequest{})
		if tt.ok != (err == nil) {
			t.Errorf("expires_in %s: err %v", tt.expiresIn, err)
			continue
		}
		if err == nil && !tok.ExpiresAt.After(time.Now().Add(time.Hour-time.Minute)) {
			t.Errorf("expires_in %s: expiry %s", tt.expiresIn, tok.ExpiresAt)
		}
	}
}

// With an allow-list, GetAssertion by audience needs an allowed server's
// resource: an ID-JAG bound to no resource might open any server of that AS.
func TestAssertionAudienceWithAllowList(t *testing.T) {
	var url string
	bd := newBed(t, bedOpts{noSignIn: true})
	url = bd.tb.MCP.URL()
	cfg := bd.cfg
	cfg.AllowUnlisted = false
	cfg.Servers = []broker.ServerConfig{{URL: url}}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if _, err := b.ImportIdentity(context.Background(), idt, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Token(context.Background(), broker.TokenRequest{ServerURL: url}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Assertion(context.Background(), broker.AssertionRequest{Audience: bd.tb.AS.Issuer()})
	wantReason(t, err, broker.ReasonServerNotAllowed)
	_, err = b.Assertion(context.Background(), broker.AssertionRequest{Audience: bd.tb.AS.Issuer(), Resource: "https://other.example/mcp"})
	wantReason(t, err, broker.ReasonServerNotAllowed)
	if _, err := b.Assertion(context.Background(), broker.AssertionRequest{Audience: bd.tb.AS.Issuer(), Resource: url}); err != nil {
		t.Fatal(err)
	}
}

// A person who signs in while the previous person's flight is still running
// gets their own token: neither the stale result nor its failure reaches
// them.
func TestNewSignInDuringOldFlight(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ep    testbed.Endpoint
		fault testbed.Fault
	}{
		{"old flight succeeds late", testbed.EndpointASToken, testbed.Fault{Latency: 2 * time.Second}},
		{"old flight fails permanently late", testbed.EndpointIdPToken, testbed.Fault{Latency: 2 * time.Second, Error: "access_denied"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{})
			ctx := context.Background()
			bd.tb.QueueFault(tt.ep, 1, tt.fault)
			old := make(chan error, 1)
			go func() {
				_, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
				old <- err
			}()
			for bd.tb.Requests(tt.ep) == 0 {
				runtime.Gosched()
			}
			if _, err := bd.b.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			bob, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{Subject: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bd.b.ImportIdentity(ctx, bob, ""); err != nil {
				t.Fatal(err)
			}
			tok, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
			if err != nil {
				t.Fatalf("bob's request: %v", err)
			}
			if sub := claim(t, tok.AccessToken, "sub"); sub != "bob" {
				t.Fatalf("bob got a token for %v", sub)
			}
			<-old
		})
	}
}
