package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func (sb *signinBed) mustLogin(t *testing.T) {
	t.Helper()
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
}

// docs/protocol.md §2 step 7.2: an exchange refused for its subject gets one ID
// token refresh and one retry.
func TestLadderRefreshesIDTokenOnce(t *testing.T) {
	for _, code := range []string{"invalid_grant", "invalid_request"} {
		t.Run(code, func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			sb.mustLogin(t)
			sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: code})
			if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
				t.Fatal(err)
			}
			c := sb.tb.Counters()
			if c.RefreshGrants != 1 || c.TokenExchanges != 1 {
				t.Errorf("refresh grants %d, exchanges %d; want 1 and 1", c.RefreshGrants, c.TokenExchanges)
			}
			// Refused again after a good refresh: surfaced, no loop.
			sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: code})
			sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{}) // the refresh passes
			sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: code})
			before := sb.tb.Requests(testbed.EndpointIdPToken)
			_, err := sb.token(t, broker.TokenRequest{Scopes: []string{"tools.read"}})
			wantReason(t, err, broker.ReasonLoginRequired)
			if n := sb.tb.Requests(testbed.EndpointIdPToken) - before; n != 3 {
				t.Errorf("%d IdP token requests, want exchange, refresh, exchange", n)
			}
		})
	}
}

// A refused refresh moves the identity to NEEDS_LOGIN: new tokens fail at
// once with LOGIN_REQUIRED and without network, cached ones are still
// served, the person is told once, and a new login ends it.
func TestNeedsLoginOnRefusedRefresh(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.mustLogin(t)
	if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	sb.tb.IdP.RevokeRefreshTokens() // an admin ended the session
	sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: "invalid_grant"})
	other := broker.TokenRequest{Scopes: []string{"tools.read"}} // not cached
	_, err := sb.token(t, other)
	wantReason(t, err, broker.ReasonLoginRequired)
	id := sb.b.Identity()
	if id.State != broker.NeedsLogin || id.HasRefreshToken || !strings.Contains(id.Reason, "refresh token") {
		t.Fatalf("identity %+v", id)
	}
	before := sb.tb.Requests(testbed.EndpointIdPToken)
	for range 3 {
		_, err := sb.token(t, other)
		wantReason(t, err, broker.ReasonLoginRequired)
		if !strings.Contains(err.Error(), "xaactl login") {
			t.Errorf("error %q does not say what to do", err)
		}
	}
	if n := sb.tb.Requests(testbed.EndpointIdPToken) - before; n != 0 {
		t.Errorf("%d IdP requests in NEEDS_LOGIN, want none", n)
	}
	if tok, err := sb.token(t, broker.TokenRequest{}); err != nil || tok.AccessToken == "" {
		t.Fatalf("cached token not served: %v", err)
	}
	if n := sb.notes.count(); n != 1 {
		t.Errorf("%d notifications, want 1", n)
	}
	// The state survives a restart.
	if id := sb.reopen(t).Identity(); id.State != broker.NeedsLogin || id.Reason == "" {
		t.Errorf("after restart: %+v", id)
	}
	sb.mustLogin(t)
	if id := sb.b.Identity(); id.State != broker.SignedIn {
		t.Fatalf("after login: %+v", id)
	}
	if _, err := sb.token(t, other); err != nil {
		t.Fatal(err)
	}
}

// insufficient_user_authentication moves to NEEDS_LOGIN with the step-up,
// and the next browser login asks the IdP for it.
func TestStepUp(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.mustLogin(t)
	sb.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: "insufficient_user_authentication",
		Extra: map[string]any{"max_age": 300, "acr_values": "urn:example:mfa"}})
	_, err := sb.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonLoginRequired)
	id := sb.b.Identity()
	if id.State != broker.NeedsLogin || id.MaxAge != "300" || id.ACRValues != "urn:example:mfa" {
		t.Fatalf("identity %+v", id)
	}
	sb.mustLogin(t)
	p := sb.tb.IdP.LastAuthorizeParams()
	if p["max_age"] != "300" || p["acr_values"] != "urn:example:mfa" {
		t.Errorf("step-up not requested: %v", p)
	}
	if id := sb.b.Identity(); id.State != broker.SignedIn || id.MaxAge != "" {
		t.Errorf("after step-up login: %+v", id)
	}
	if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
}

// An IdP that refreshes without id_token: the refresh token becomes the
// subject where the IdP advertises it, else the identity ends with its ID
// token.
func TestRefreshWithoutIDToken(t *testing.T) {
	for _, rtSubject := range []bool{true, false} {
		name := map[bool]string{true: "refresh token subject", false: "no fallback"}[rtSubject]
		t.Run(name, func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{RefreshWithoutIDToken: true, RefreshTokenSubject: rtSubject})
			sb.mustLogin(t)
			sb.clock.Advance(61 * time.Minute) // the ID token expired
			_, err := sb.token(t, broker.TokenRequest{})
			if !rtSubject {
				wantReason(t, err, broker.ReasonLoginRequired)
				if id := sb.b.Identity(); id.State != broker.NeedsLogin || !strings.Contains(id.Reason, "does not renew") {
					t.Errorf("identity %+v", id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := sb.tb.IdP.SignInCounters(); c.RefreshSubjectExchanges != 1 {
				t.Errorf("exchanges with a refresh token subject: %d", c.RefreshSubjectExchanges)
			}
			if id := sb.b.Identity(); id.State != broker.SignedIn {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	for _, revocation := range []bool{true, false} {
		t.Run(map[bool]string{true: "revoked", false: "no revocation endpoint"}[revocation], func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{NoRevocationEndpoint: !revocation})
			sb.mustLogin(t)
			if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
				t.Fatal(err)
			}
			revoked, err := sb.b.Logout(context.Background())
			if err != nil || revoked != revocation {
				t.Fatalf("Logout = %v, %v; want revoked %v", revoked, err, revocation)
			}
			if revocation && (sb.tb.IdP.SignInCounters().Revocations != 1 || sb.tb.IdP.LiveRefreshTokens() != 0) {
				t.Error("the IdP did not revoke the refresh token")
			}
			for _, bucket := range []string{"identity", "tokens"} {
				if all, _ := sb.store.List(bucket); len(all) != 0 {
					t.Errorf("bucket %s holds %d records after logout", bucket, len(all))
				}
			}
			if id := sb.b.Identity(); id.State != broker.SignedOut {
				t.Errorf("identity %+v", id)
			}
			_, err = sb.token(t, broker.TokenRequest{})
			wantReason(t, err, broker.ReasonLoginRequired)
		})
	}
}
