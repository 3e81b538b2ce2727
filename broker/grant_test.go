package broker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// Every client authentication method, at the IdP and at the AS, verified by
// the testbed (which accepts only the method configured for the client).
func TestClientAuthMethods(t *testing.T) {
	methods := []testbed.ClientAuthMethod{testbed.AuthClientSecretBasic, testbed.AuthClientSecretPost, testbed.AuthPrivateKeyJWT, testbed.AuthNone}
	for _, idpM := range methods {
		for _, asM := range methods {
			t.Run(fmt.Sprintf("idp=%s/as=%s", idpM, asM), func(t *testing.T) {
				idpKey, asKey := newKey(t), newKey(t)
				// A secret with reserved characters proves the RFC 6749
				// §2.3.1 form-encoding inside Basic credentials.
				o := testbed.Options{
					IdPClient: testbed.Client{ID: "idp client:1", Secret: "s&cr=t:%/+", Auth: idpM, PublicKey: &idpKey.PublicKey},
					ASClient:  testbed.Client{ID: "mcp-client", Secret: "p@ss word", Auth: asM, PublicKey: &asKey.PublicKey},
				}
				bd := newBed(t, bedOpts{tb: o, idpKey: idpKey, asKey: asKey})
				if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
					t.Fatal(err)
				}
				ex, _ := bd.tb.LastRequest(testbed.EndpointIdPToken)
				jb, _ := bd.tb.LastRequest(testbed.EndpointASToken)
				if ex.ClientAuth != idpM || jb.ClientAuth != asM {
					t.Errorf("methods used: IdP %s AS %s", ex.ClientAuth, jb.ClientAuth)
				}
			})
		}
	}
}

func TestWrongClientSecret(t *testing.T) {
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) {
		for iss, a := range c.AuthServers {
			a.Secret = "wrong"
			c.AuthServers[iss] = a
		}
	}})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonASDenied)
	if !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("message %q", err)
	}
}

// docs/protocol.md §6 item 7: IdP response variants.
func TestIdPResponseVariants(t *testing.T) {
	tests := []struct {
		name   string
		tweaks testbed.IdPTweaks
		fault  *testbed.Fault
		ok     bool
	}{
		{"minimal response", testbed.IdPTweaks{Minimal: true}, nil, true},
		{"token_type n_a", testbed.IdPTweaks{TokenType: "n_a"}, nil, true},
		{"unexpected refresh_token ignored", testbed.IdPTweaks{RefreshTokenInExchange: true}, nil, true},
		{"wrong issued_token_type", testbed.IdPTweaks{IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token"}, nil, false},
		{"token_type Bearer", testbed.IdPTweaks{TokenType: "Bearer"}, nil, false},
		{"missing access_token", testbed.IdPTweaks{}, &testbed.Fault{Body: []byte(`{"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}`)}, false},
		{"garbage body", testbed.IdPTweaks{}, &testbed.Fault{Body: []byte("\x00\x01garbage")}, false},
		{"wrongly typed expires_in", testbed.IdPTweaks{}, &testbed.Fault{Body: []byte(`{"access_token":"x.y.z","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A","expires_in":"soon"}`)}, false},
		{"oversized body", testbed.IdPTweaks{}, &testbed.Fault{OversizeBytes: 2 << 20}, false},
		{"access_token not a JWT", testbed.IdPTweaks{}, &testbed.Fault{Body: []byte(`{"access_token":"opaque","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}`)}, false},
		// docs/protocol.md §6 item 8: defence in depth on the ID-JAG itself.
		{"ID-JAG typ JWT", testbed.IdPTweaks{IDJAGTyp: "JWT"}, nil, false},
		{"ID-JAG without typ", testbed.IdPTweaks{OmitIDJAGTyp: true}, nil, false},
		{"ID-JAG for another AS", testbed.IdPTweaks{IDJAGAudience: "https://other-as.example"}, nil, false},
		{"ID-JAG for another resource", testbed.IdPTweaks{IDJAGResource: "https://other.example/mcp"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{})
			bd.tb.IdP.SetTweaks(tt.tweaks)
			if tt.fault != nil {
				bd.tb.SetFault(testbed.EndpointIdPToken, *tt.fault)
			}
			_, err := bd.token(t, broker.TokenRequest{})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, broker.ReasonUpstreamUnavailable)
			if n := bd.tb.Requests(testbed.EndpointASToken); n != 0 {
				t.Errorf("a rejected ID-JAG reached the AS (%d requests)", n)
			}
		})
	}
}

// docs/protocol.md §4.1 and §6 items 10-12: each IdP error code, its reason and
// whether it was retried.
func TestIdPErrorMapping(t *testing.T) {
	tests := []struct {
		code      string
		status    int
		reason    broker.Reason
		exchanges int // requests to the IdP token endpoint
	}{
		{"invalid_grant", 400, broker.ReasonLoginRequired, 1},
		{"invalid_request", 400, broker.ReasonLoginRequired, 1},
		{"insufficient_user_authentication", 400, broker.ReasonLoginRequired, 1},
		{"invalid_client", 401, broker.ReasonIdPDenied, 1},
		{"unauthorized_client", 400, broker.ReasonIdPDenied, 1},
		{"access_denied", 400, broker.ReasonIdPDenied, 1},
		{"invalid_scope", 400, broker.ReasonIdPDenied, 1},
		{"unsupported_grant_type", 400, broker.ReasonIdPDenied, 1},
		{"invalid_target", 400, broker.ReasonIdPDenied, 2}, // one re-discovery
		// A transient failure gets one more try within the deadline.
		{"server_error", 500, broker.ReasonUpstreamUnavailable, 2},
		{"temporarily_unavailable", 503, broker.ReasonUpstreamUnavailable, 2},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			bd := newBed(t, bedOpts{})
			bd.tb.SetFault(testbed.EndpointIdPToken, testbed.Fault{Error: tt.code, Description: "test", Status: tt.status, Extra: map[string]any{"max_age": 0}})
			_, err := bd.token(t, broker.TokenRequest{})
			wantReason(t, err, tt.reason)
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("message %q lacks the OAuth code", err)
			}
			if n := bd.tb.Requests(testbed.EndpointIdPToken); n != tt.exchanges {
				t.Errorf("%d token exchange requests, want %d", n, tt.exchanges)
			}
			if n := bd.tb.Requests(testbed.EndpointASToken); n != 0 {
				t.Errorf("AS called %d times", n)
			}
		})
	}
}

// docs/protocol.md §6 items 12 and 13: an AS invalid_grant gets exactly one
// retry with a fresh ID-JAG; no assertion is ever sent twice; other errors
// are surfaced at once.
func TestASErrors(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		code     string
		status   int
		ok       bool
		reason   broker.Reason
		requests int
	}{
		{"invalid_grant once", 1, "invalid_grant", 400, true, "", 2},
		{"invalid_grant twice", 2, "invalid_grant", 400, false, broker.ReasonASDenied, 2},
		{"invalid_client", 1, "invalid_client", 401, false, broker.ReasonASDenied, 1},
		{"unauthorized_client", 1, "unauthorized_client", 400, false, broker.ReasonASDenied, 1},
		{"access_denied", 1, "access_denied", 400, false, broker.ReasonASDenied, 1},
		{"invalid_scope", 1, "invalid_scope", 400, false, broker.ReasonASDenied, 1},
		// One transient failure is tried once more, with a fresh ID-JAG; a
		// second is surfaced.
		{"server_error once", 1, "server_error", 500, true, "", 2},
		{"server_error twice", 2, "server_error", 500, false, broker.ReasonUpstreamUnavailable, 2},
		{"503 once", 1, "", 503, true, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{})
			bd.tb.QueueFault(testbed.EndpointASToken, tt.failures, testbed.Fault{Error: tt.code, Status: tt.status})
			_, err := bd.token(t, broker.TokenRequest{})
			if tt.ok && err != nil {
				t.Fatal(err)
			}
			if !tt.ok {
				wantReason(t, err, tt.reason)
			}
			if n := bd.tb.Requests(testbed.EndpointASToken); n != tt.requests {
				t.Errorf("%d grant requests, want %d", n, tt.requests)
			}
			assertions := bd.rec.values("assertion")
			if len(assertions) != tt.requests || len(slices.Compact(slices.Sorted(slices.Values(assertions)))) != len(assertions) {
				t.Errorf("assertions sent: %d, distinct: not all (an ID-JAG was re-sent)", len(assertions))
			}
			if n := bd.tb.Requests(testbed.EndpointIdPToken); n != tt.requests {
				t.Errorf("%d exchanges, want one fresh ID-JAG per grant (%d)", n, tt.requests)
			}
		})
	}
}

func TestTokenEndpointRedirectRefused(t *testing.T) {
	bd := newBed(t, bedOpts{})
	bd.tb.SetFault(testbed.EndpointIdPToken, testbed.Fault{RedirectTo: bd.tb.AS.TokenEndpoint()})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonUpstreamUnavailable)
	if !strings.Contains(err.Error(), "redirect") {
		t.Errorf("message %q", err)
	}
	if n := bd.tb.Requests(testbed.EndpointASToken); n != 0 {
		t.Errorf("the redirect was followed: %d requests at its target", n)
	}
}

func TestTokenEndpointNeverAnswers(t *testing.T) {
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) { c.Timeout = 200 * time.Millisecond }})
	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Hang: true})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonUpstreamUnavailable)
}
