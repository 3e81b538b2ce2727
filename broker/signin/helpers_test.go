package signin_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/signin"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// recClock is a clock.Fake that reports the duration of every timer the
// code under test arms, so a test moves time by exactly what the code
// waits for, without sleeping.
type recClock struct {
	*clock.Fake
	armed chan time.Duration
}

func newRecClock() *recClock {
	return &recClock{Fake: clock.NewFake(time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)), armed: make(chan time.Duration, 64)}
}

func (c *recClock) NewTimer(d time.Duration) clock.Timer {
	t := c.Fake.NewTimer(d)
	c.armed <- d
	return t
}

// nextWait returns the next timer armed. The 30 s bound only stops a hung
// test; nothing is timed by it.
func (c *recClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no timer was armed")
		return 0
	}
}

// idp is the testbed's IdP on a recorded clock, with xaad's client there.
type idp struct {
	tb    *testbed.Testbed
	clock *recClock
	auth  grant.ClientAuth
}

func newIdP(t *testing.T) *idp {
	t.Helper()
	c := newRecClock()
	tb, err := testbed.Start(testbed.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	cl := tb.Options().IdPClient
	return &idp{tb: tb, clock: c, auth: grant.ClientAuth{ClientID: cl.ID, Secret: cl.Secret}}
}

func (p *idp) endpoint(url string) *grant.Endpoint {
	return &grant.Endpoint{URL: url, Issuer: p.tb.IdP.Issuer(), Auth: p.auth, HTTP: p.tb.HTTPClient(), Now: p.clock.Now}
}

func (p *idp) browser(emit func(signin.Event)) signin.Browser {
	return signin.Browser{
		AuthorizationEndpoint: p.tb.IdP.AuthorizeURL(), Issuer: p.tb.IdP.Issuer(), ClientID: p.auth.ClientID,
		Scopes: signin.Scopes(nil, nil), Clock: p.clock, Emit: emit,
	}
}

// redeem is a Finish that does what the broker's does: redeem the code
// with the verifier and check the ID token's nonce.
func (p *idp) redeem(ctx context.Context, cb signin.Callback) (signin.Person, error) {
	toks, err := grant.AuthorizationCode(ctx, p.endpoint(p.tb.IdP.TokenEndpoint()), cb.Code, cb.RedirectURI, cb.Verifier)
	if err != nil {
		return signin.Person{}, err
	}
	v := &idtoken.Verifier{Issuer: p.tb.IdP.Issuer(), ClientID: p.auth.ClientID, HTTP: p.tb.HTTPClient(), Now: p.clock.Now}
	c, err := v.VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{Nonce: cb.Nonce, MaxAge: cb.MaxAge})
	if err != nil {
		return signin.Person{}, err
	}
	return signin.Person{Subject: c.Subject, Issuer: c.Issuer}, nil
}

// run starts b.Run with finish and returns the authorization URL it
// emitted and a channel with its result.
func run(t *testing.T, b signin.Browser, finish signin.Finish) (string, <-chan error) {
	t.Helper()
	urls := make(chan string, 1)
	b.Emit = func(ev signin.Event) {
		if ev.OpenURL != "" {
			urls <- ev.OpenURL
		}
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background(), finish) }()
	select {
	case u := <-urls:
		return u, done
	case err := <-done:
		t.Fatalf("the sign-in ended before it emitted a URL: %v", err)
		return "", nil
	}
}

// get plays the browser: it follows the IdP's redirect to the loopback
// listener and returns the page there.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func query(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func kindOf(err error) signin.Kind {
	if se, ok := err.(*signin.Error); ok {
		return se.Kind
	}
	return 0
}
