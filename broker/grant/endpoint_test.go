package grant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/internal/clock"
)

// call is one form POST of the package, as its callers make it.
type call struct {
	name string
	// success is a 200 answer the call accepts.
	success string
	do      func(ctx context.Context, ep *grant.Endpoint) error
}

var calls = []call{
	// An encrypted ID-JAG (a JWE: five parts, a protected header with alg and
	// enc) is passed through unread.
	{"token exchange", `{"access_token":"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIiwiY3R5IjoiSldUIn0.a2V5.aXY.Y3Q.dGFn","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}`,
		func(ctx context.Context, ep *grant.Endpoint) error {
			_, err := grant.Exchange(ctx, ep, grant.ExchangeRequest{SubjectToken: "id", Audience: "https://as.example"})
			return err
		}},
	{"jwt-bearer", `{"access_token":"at","token_type":"Bearer","expires_in":60}`,
		func(ctx context.Context, ep *grant.Endpoint) error {
			_, err := grant.JWTBearer(ctx, ep, grant.BearerRequest{Assertion: "jag"})
			return err
		}},
	{"refresh", `{"id_token":"id","access_token":"at","token_type":"Bearer"}`,
		func(ctx context.Context, ep *grant.Endpoint) error {
			_, err := grant.Refresh(ctx, ep, "rt")
			return err
		}},
	{"device token", `{"id_token":"id","access_token":"at","token_type":"Bearer"}`,
		func(ctx context.Context, ep *grant.Endpoint) error {
			_, err := grant.DeviceToken(ctx, ep, "dc")
			return err
		}},
	{"device authorization", `{"device_code":"dc","user_code":"U","verification_uri":"https://idp.example/device","expires_in":600}`,
		func(ctx context.Context, ep *grant.Endpoint) error {
			_, err := grant.DeviceAuthorization(ctx, ep, []string{"openid"})
			return err
		}},
	{"revocation", ``,
		func(ctx context.Context, ep *grant.Endpoint) error {
			return grant.Revoke(ctx, ep, "rt", "refresh_token")
		}},
}

func endpoint(url string) *grant.Endpoint {
	return &grant.Endpoint{URL: url, Auth: grant.ClientAuth{ClientID: "c", Secret: "s"}}
}

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Every call posts a form with the client's credentials and takes its
// success answer.
func TestFormPostSucceeds(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					http.Error(w, "want a form POST", http.StatusBadRequest)
					return
				}
				if id, secret, ok := r.BasicAuth(); !ok || id != "c" || secret != "s" {
					http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
					return
				}
				_, _ = w.Write([]byte(c.success))
			})
			if err := c.do(context.Background(), endpoint(url)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Requests carry credentials: a redirect is an error and never followed.
func TestFormPostRefusesRedirects(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			var followed atomic.Int32
			target := serve(t, func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			})
			err := c.do(context.Background(), endpoint(url))
			if !errors.Is(err, grant.ErrRedirect) {
				t.Fatalf("err = %v, want ErrRedirect", err)
			}
			if followed.Load() != 0 {
				t.Fatal("the redirect was followed")
			}
		})
	}
}

// A body over the cap fails whole, never parsed truncated.
func TestFormPostCapsTheBody(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(strings.Repeat(" ", httpx.MaxBody+1)))
			})
			if err := c.do(context.Background(), endpoint(url)); !errors.Is(err, httpx.ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

// Error answers decode into OAuthError, with the step-up hints; a 200 that
// carries only an error is an error too, except for revocation, whose 200
// means revoked whatever the body says (RFC 7009 §2.2).
func TestFormPostErrorAnswers(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"insufficient_user_authentication","error_description":"again","max_age":300,"acr_values":"mfa"}`))
			})
			var oe *grant.OAuthError
			err := c.do(context.Background(), endpoint(url))
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an OAuthError", err)
			}
			if oe.Status != 400 || oe.Code != "insufficient_user_authentication" || oe.Description != "again" || oe.MaxAge != "300" || oe.ACRValues != "mfa" {
				t.Fatalf("OAuthError = %+v", oe)
			}
			if !strings.Contains(oe.Endpoint, url) {
				t.Errorf("endpoint %q does not name %s", oe.Endpoint, url)
			}

			url = serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"error":"slow_down"}`)) })
			err = c.do(context.Background(), endpoint(url))
			if c.name == "revocation" {
				if err != nil {
					t.Fatalf("revocation answered 200: err = %v", err)
				}
				return
			}
			if !errors.As(err, &oe) || oe.Code != "slow_down" || oe.Status != 200 {
				t.Fatalf("200 with an error member: err = %v", err)
			}
		})
	}
}

// Expiry counts from the moment the answer arrived, not from when the
// request left: network time is never counted in the token's favour.
func TestFormPostStampsTheReceivedTime(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clock.NewFake(t0)
	answer := ""
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(10 * time.Second) // the server is slow
		_, _ = w.Write([]byte(answer))
	})
	ep := endpoint(url)
	ep.Now = clk.Now
	ctx := context.Background()

	answer = `{"access_token":"at","token_type":"Bearer","expires_in":60}`
	at, err := grant.JWTBearer(ctx, ep, grant.BearerRequest{Assertion: "jag"})
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(10 * time.Second); !at.ReceivedAt.Equal(want) || !at.ExpiresAt.Equal(want.Add(time.Minute)) {
		t.Errorf("access token received %v, expires %v; want received %v", at.ReceivedAt, at.ExpiresAt, want)
	}

	answer = `{"id_token":"id","access_token":"at"}`
	toks, err := grant.Refresh(ctx, ep, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(20 * time.Second); !toks.ReceivedAt.Equal(want) {
		t.Errorf("refresh received %v, want %v", toks.ReceivedAt, want)
	}

	answer = `{"device_code":"dc","user_code":"U","verification_uri":"https://idp.example/device","expires_in":600}`
	da, err := grant.DeviceAuthorization(ctx, ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(30*time.Second + 10*time.Minute); !da.ExpiresAt.Equal(want) {
		t.Errorf("device code expires %v, want %v", da.ExpiresAt, want)
	}
}
