package broker_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func TestLoginBrowser(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	info, page, err := sb.loginBrowser(t, sb.b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != broker.SignedIn || info.Subject != "alice" || !info.HasRefreshToken || !info.Verified {
		t.Fatalf("identity = %+v", info)
	}
	contains(t, page, "Signed in")
	contains(t, page, "You can close this window")
	// The request itself is tested in broker/signin; the broker adds the
	// configured scopes.
	if p := sb.tb.IdP.LastAuthorizeParams(); p["scope"] != "openid offline_access email" {
		t.Errorf("authorization request = %v", p)
	}
	if c := sb.tb.IdP.SignInCounters(); c.CodeGrants != 1 {
		t.Errorf("code grants = %d", c.CodeGrants)
	}
	// The new identity mints tokens.
	if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
}

// Every refusal leaves the stored identity as it was.
func TestLoginBrowserRejections(t *testing.T) {
	tests := []struct {
		name     string
		tweaks   testbed.SignInTweaks
		fault    *testbed.Fault // on the IdP token endpoint
		edit     func(*url.URL)
		wantPage string
		wantErr  string
	}{
		{name: "authorization error", tweaks: testbed.SignInTweaks{AuthorizeError: "access_denied"}, wantErr: "access_denied"},
		{name: "wrong nonce", tweaks: testbed.SignInTweaks{Nonce: "replayed"}, wantErr: "nonce"},
		{name: "wrong aud", tweaks: testbed.SignInTweaks{IDTokenAudience: "other-client"}, wantErr: "audience"},
		{name: "wrong iss", tweaks: testbed.SignInTweaks{IDTokenIssuer: "https://evil.example"}, wantErr: "issuer"},
		{name: "alg none", tweaks: testbed.SignInTweaks{IDTokenAlgNone: true}, wantErr: "allowed algorithm"},
		{name: "expired", tweaks: testbed.SignInTweaks{IDTokenExpired: true}, wantErr: "expired"},
		{name: "unknown key", tweaks: testbed.SignInTweaks{IDTokenForeignKey: true}, wantErr: "verif"},
		{name: "mix-up iss", tweaks: testbed.SignInTweaks{WrongIssuer: true}, wantErr: "RFC 9207"},
		{name: "garbage token answer", fault: &testbed.Fault{Body: []byte("<html>oops</html>")}, wantErr: "unusable"},
		{name: "token endpoint down", fault: &testbed.Fault{Status: 503}, wantErr: "unavailable"},
		{name: "pkce mismatch", edit: func(u *url.URL) {
			// An attacker's challenge: the broker's verifier cannot match it.
			q := u.Query()
			q.Set("code_challenge", strings.Repeat("A", 43))
			u.RawQuery = q.Encode()
		}, wantErr: "PKCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			sb.signIn(t)
			before := sb.b.Identity()
			sb.tb.IdP.SetSignInTweaks(tt.tweaks)
			if tt.fault != nil {
				sb.tb.QueueFault(testbed.EndpointIdPToken, 1, *tt.fault)
			}
			_, page, err := sb.loginBrowser(t, sb.b, tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			contains(t, page, "Sign-in failed")
			if after := sb.b.Identity(); after != before {
				t.Errorf("identity changed: %+v -> %+v", before, after)
			}
		})
	}
}

// One login at a time: while a browser login waits, another is refused;
// the waiting one can still finish.
func TestLoginOneAtATime(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := sb.b.LoginBrowser(context.Background(), broker.LoginOptions{Emit: func(ev broker.LoginEvent) {
			if ev.OpenURL != "" {
				urls <- ev.OpenURL
			}
		}})
		done <- err
	}()
	authURL := <-urls
	if _, err := sb.b.LoginDevice(context.Background(), broker.LoginOptions{}); broker.ReasonOf(err) != broker.ReasonLoginInProgress {
		t.Fatalf("second login: %v", err)
	}
	if _, err := sb.b.ImportIdentity(context.Background(), "x", ""); broker.ReasonOf(err) != broker.ReasonLoginInProgress {
		t.Fatalf("import during a login: %v", err)
	}
	if _, page := browser(t, authURL, nil); !strings.Contains(page, "Signed in") {
		t.Fatalf("page %s", page)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLoginBrowserCancel(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sb.b.LoginBrowser(ctx, broker.LoginOptions{Emit: func(ev broker.LoginEvent) {
			if ev.OpenURL != "" {
				cancel() // the person pressed Ctrl-C
			}
		}})
		done <- err
	}()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v", err)
	}
	// The slot is free again.
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
}
