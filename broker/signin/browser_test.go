package signin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/signin"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// A whole sign-in against the strict testbed IdP: the request it sends,
// the code it brings back, and the page the browser shows.
func TestBrowserSignIn(t *testing.T) {
	p := newIdP(t)
	var got signin.Callback
	authURL, done := run(t, p.browser(nil), func(ctx context.Context, cb signin.Callback) (signin.Person, error) {
		got = cb
		return p.redeem(ctx, cb)
	})
	status, page := get(t, authURL)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK || !strings.Contains(page, "You are signed in to xaad as alice at "+p.tb.IdP.Issuer()) {
		t.Fatalf("page %d: %s", status, page)
	}
	q := p.tb.IdP.LastAuthorizeParams()
	if q["response_type"] != "code" || q["client_id"] != p.auth.ClientID || q["scope"] != "openid offline_access" {
		t.Errorf("authorization request = %v", q)
	}
	// RFC 7636 §4.1-4.2: a 43-character verifier and its S256 challenge;
	// state and nonce as unguessable.
	if q["code_challenge_method"] != "S256" || len(got.Verifier) != 43 || len(q["state"]) != 43 || len(q["nonce"]) != 43 {
		t.Errorf("authorization request = %v, verifier %d characters", q, len(got.Verifier))
	}
	if q["nonce"] != got.Nonce || q["redirect_uri"] != got.RedirectURI || q["max_age"] != "" || q["acr_values"] != "" {
		t.Errorf("callback %+v does not match the request %v", got, q)
	}
	if !strings.HasPrefix(got.RedirectURI, "http://127.0.0.1:") || !strings.HasSuffix(got.RedirectURI, "/callback") {
		t.Errorf("redirect_uri %q is not an RFC 8252 loopback IP redirect", got.RedirectURI)
	}
	// The listener lives only as long as the sign-in.
	if _, err := http.Get(got.RedirectURI); err == nil {
		t.Error("the loopback listener still answers after the sign-in")
	}
}

// A step-up the IdP demanded goes into the request, and the max_age into
// the callback so that auth_time is checked.
func TestBrowserStepUp(t *testing.T) {
	p := newIdP(t)
	b := p.browser(nil)
	b.MaxAge, b.ACRValues = "0", "phishing-resistant"
	var got signin.Callback
	authURL, done := run(t, b, func(ctx context.Context, cb signin.Callback) (signin.Person, error) {
		got = cb
		return p.redeem(ctx, cb)
	})
	get(t, authURL)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q := p.tb.IdP.LastAuthorizeParams(); q["max_age"] != "0" || q["acr_values"] != "phishing-resistant" {
		t.Errorf("authorization request = %v", q)
	}
	if got.MaxAge != "0" {
		t.Errorf("callback max_age %q", got.MaxAge)
	}
}

// A redirect the sign-in must not trust ends it with Refused, and the
// page says why; finish is never called.
func TestBrowserRefusedRedirects(t *testing.T) {
	tests := []struct {
		name    string
		tweaks  testbed.SignInTweaks
		wantErr string
	}{
		{"authorization error", testbed.SignInTweaks{AuthorizeError: "access_denied"}, "the IdP refused the sign-in: access_denied: the test IdP was told to refuse"},
		{"mix-up iss", testbed.SignInTweaks{WrongIssuer: true}, "the sign-in response names another issuer; refused (RFC 9207)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t)
			p.tb.IdP.SetSignInTweaks(tt.tweaks)
			authURL, done := run(t, p.browser(nil), func(context.Context, signin.Callback) (signin.Person, error) {
				t.Error("finish was called for a refused redirect")
				return signin.Person{}, nil
			})
			status, page := get(t, authURL)
			err := <-done
			if kindOf(err) != signin.Refused || err.Error() != tt.wantErr {
				t.Fatalf("err = %v (kind %d), want Refused %q", err, kindOf(err), tt.wantErr)
			}
			if status != http.StatusBadRequest || !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, tt.wantErr) {
				t.Errorf("page %d: %s", status, page)
			}
		})
	}
}

// finish's error comes back as it is and is what the page shows.
func TestBrowserFinishFails(t *testing.T) {
	p := newIdP(t)
	refused := errors.New("the ID token fails verification")
	authURL, done := run(t, p.browser(nil), func(context.Context, signin.Callback) (signin.Person, error) {
		return signin.Person{}, refused
	})
	status, page := get(t, authURL)
	if err := <-done; err != refused {
		t.Fatalf("err = %v", err)
	}
	if status != http.StatusBadRequest || !strings.Contains(page, refused.Error()) {
		t.Errorf("page %d: %s", status, page)
	}
}

// A request without the sign-in's state (a stray tab, a forged link) is
// answered and ignored; the sign-in goes on and can still succeed.
func TestBrowserStrayCallback(t *testing.T) {
	p := newIdP(t)
	authURL, done := run(t, p.browser(nil), p.redeem)
	redirect := query(t, authURL).Get("redirect_uri")
	status, page := get(t, redirect+"?code=stolen&state=guess")
	if status != http.StatusBadRequest || !strings.Contains(page, "does not belong") {
		t.Fatalf("stray callback: %d %s", status, page)
	}
	if _, page := get(t, authURL); !strings.Contains(page, "Signed in") {
		t.Fatalf("page %s", page)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBrowserCancel(t *testing.T) {
	p := newIdP(t)
	ctx, cancel := context.WithCancel(context.Background())
	b := p.browser(func(ev signin.Event) {
		if ev.OpenURL != "" {
			cancel() // the person pressed Ctrl-C
		}
	})
	err := b.Run(ctx, p.redeem)
	if !errors.Is(err, context.Canceled) || err.Error() != "the browser sign-in was cancelled: context canceled" || kindOf(err) != 0 {
		t.Fatalf("err = %v", err)
	}
}

// The deadline runs on the injected clock: moving it past the Timeout ends
// a sign-in nobody finished, and its listener with it.
func TestBrowserTimesOut(t *testing.T) {
	p := newIdP(t)
	b := p.browser(nil)
	b.Timeout = 15 * time.Minute
	authURL, done := run(t, b, p.redeem)
	if d := p.clock.nextWait(t); d != b.Timeout {
		t.Fatalf("first timer %s, want the %s deadline", d, b.Timeout)
	}
	p.clock.Advance(b.Timeout - time.Second)
	select {
	case err := <-done:
		t.Fatalf("ended before its deadline: %v", err)
	default:
	}
	p.clock.Advance(time.Second)
	err := <-done
	if kindOf(err) != signin.TimedOut || !errors.Is(err, context.DeadlineExceeded) ||
		err.Error() != "the browser sign-in did not finish within 15m0s; run `xaactl login` again: context deadline exceeded" {
		t.Fatalf("err = %v", err)
	}
	if _, err := http.Get(query(t, authURL).Get("redirect_uri")); err == nil {
		t.Error("the loopback listener still answers after the deadline")
	}
	if n := p.clock.Waiters(); n != 0 {
		t.Errorf("%d timers left behind", n)
	}
}

func TestBrowserBadEndpoint(t *testing.T) {
	p := newIdP(t)
	b := p.browser(nil)
	b.AuthorizationEndpoint = "http://[::1"
	err := b.Run(context.Background(), p.redeem)
	if kindOf(err) != signin.BadEndpoint || !strings.HasPrefix(err.Error(), "the IdP's authorization_endpoint is unusable: ") {
		t.Fatalf("err = %v", err)
	}
}
