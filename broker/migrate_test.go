package broker_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// A default client holding a secret goes only where the configuration
// says (MCP 2026-07-28, "Authorization Server Binding"): to the issuers it
// lists, or anywhere with AnyIssuer. A refusal names the issuer and the
// fix, and sends nothing to the authorization server. (The testbed's AS is
// not configured here: only the default client can serve it.)
func TestDefaultClientSecretBoundToItsIssuers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		issuers func(as string) []string
		any     bool
		ok      bool
	}{
		{"no issuers", func(string) []string { return nil }, false, false},
		{"any_issuer", func(string) []string { return nil }, true, true},
		{"this issuer listed", func(as string) []string { return []string{as} }, false, true},
		{"another issuer listed", func(string) []string { return []string{"https://auth.elsewhere.example/"} }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{configure: func(c *broker.Config) {
				for iss, auth := range c.AuthServers {
					c.DefaultClient, c.DefaultClientIssuers = &auth, tc.issuers(iss)
				}
				c.AuthServers, c.DefaultClientAnyIssuer = nil, tc.any
			}})
			_, err := bd.token(t, broker.TokenRequest{})
			if tc.ok {
				if err != nil {
					t.Fatalf("token: %v", err)
				}
				return
			}
			var be *broker.Error
			if !errors.As(err, &be) || be.Reason != broker.ReasonConfig || !strings.Contains(err.Error(), bd.tb.AS.Issuer()) || !strings.Contains(err.Error(), "[default_client]") {
				t.Fatalf("err = %v, want a CONFIG error naming %s and the [default_client] fix", err, bd.tb.AS.Issuer())
			}
			if n := bd.tb.Counters().Requests[testbed.EndpointASToken]; n != 0 {
				t.Errorf("the AS received %d token requests, want none", n)
			}
		})
	}
}

// A forced refresh reads the server's metadata again, from the 401's
// resource_metadata when that URL is on the server's origin. A URL on
// another origin comes from another process and is never fetched: the
// metadata is read where the daemon found it itself.
func TestForcedRefreshRereadsMetadata(t *testing.T) {
	var foreign atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
	defer attacker.Close()
	bd := newBed(t, bedOpts{})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	prm := bd.tb.Counters().Requests[testbed.EndpointPRM]
	for i, ch := range []*broker.Challenge{
		nil,
		{ResourceMetadata: bd.tb.MCP.PRMURL(), Error: "invalid_token"},
		{ResourceMetadata: attacker.URL + "/.well-known/oauth-protected-resource/mcp"},
	} {
		if _, err := bd.token(t, broker.TokenRequest{Force: true, Challenge: ch}); err != nil {
			t.Fatalf("forced refresh %d: %v", i, err)
		}
		if n := bd.tb.Counters().Requests[testbed.EndpointPRM]; n != prm+i+1 {
			t.Errorf("forced refresh %d: %d metadata reads in all, want %d", i, n, prm+i+1)
		}
	}
	if n := foreign.Load(); n != 0 {
		t.Errorf("%d requests to a metadata URL on another origin than the server", n)
	}
}

// Signed out, a server without OAuth is reported as such (the caller may
// reach it without a token), and is not polled in the background: no
// retry could get a token before a sign-in.
func TestUnprotectedServerSignedOut(t *testing.T) {
	bd, clk := schedBed(t, bedOpts{noSignIn: true})
	open := bd.tb.MCP.OpenURL()
	_, err := bd.token(t, broker.TokenRequest{ServerURL: open})
	if broker.ReasonOf(err) != broker.ReasonDiscoveryFailed {
		t.Fatalf("err = %v, want DISCOVERY_FAILED", err)
	}
	probes := bd.tb.Counters().Requests[testbed.EndpointOpenMCP]
	for range 10 {
		clk.Advance(10 * time.Minute)
		bd.b.TickForTest(t.Context())
	}
	if n := bd.tb.Counters().Requests[testbed.EndpointOpenMCP] - probes; n != 0 {
		t.Errorf("%d discovery probes of the open server in 100 minutes signed out, want none", n)
	}
	if _, err := bd.token(t, broker.TokenRequest{}); broker.ReasonOf(err) != broker.ReasonLoginRequired {
		t.Errorf("the protected server signed out: %v, want LOGIN_REQUIRED", err)
	}
}
