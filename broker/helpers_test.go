package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// bed is a testbed with a broker configured for it and signed in.
type bed struct {
	tb  *testbed.Testbed
	b   *broker.Broker
	rec *recorder
	cfg broker.Config
}

type bedOpts struct {
	tb       testbed.Options
	idpKey   *ecdsa.PrivateKey // for private_key_jwt at the IdP
	asKey    *ecdsa.PrivateKey
	noSignIn bool
	// listed configures the testbed's MCP servers; without it they are
	// unlisted, registered once they yield a token.
	listed bool
	// clock, when set, is the time of the testbed and the broker alike;
	// nil leaves both on the system clock.
	clock     *clock.Fake
	configure func(*broker.Config)
}

func newBed(t *testing.T, o bedOpts) *bed {
	t.Helper()
	if o.clock != nil {
		o.tb.Now = o.clock.Now
	}
	tb, err := testbed.Start(o.tb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	opts := tb.Options()
	rec := &recorder{base: http.DefaultTransport}
	cfg := broker.Config{
		IdP: broker.IdPConfig{Issuer: tb.IdP.Issuer(), Auth: clientAuth(opts.IdPClient, o.idpKey)},
		AuthServers: map[string]grant.ClientAuth{
			tb.AS.Issuer(): clientAuth(opts.ASClient, o.asKey),
		},
		AllowUnlisted: true,
		HTTP:          &http.Client{Transport: rec, Timeout: 30 * time.Second},
	}
	if o.clock != nil {
		cfg.Clock = o.clock
	}
	if o.listed {
		for _, m := range tb.MCPs {
			cfg.Servers = append(cfg.Servers, broker.ServerConfig{URL: m.URL()})
		}
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	bd := &bed{tb: tb, b: b, rec: rec, cfg: cfg}
	if !o.noSignIn {
		bd.signIn(t)
	}
	return bd
}

func (bd *bed) signIn(t *testing.T) {
	t.Helper()
	idt, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := bd.b.ImportIdentity(context.Background(), idt, "")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Verified {
		t.Fatal("the testbed publishes its keys, so the ID token should have been verified")
	}
}

func (bd *bed) token(t *testing.T, req broker.TokenRequest) (*broker.Token, error) {
	t.Helper()
	if req.ServerURL == "" {
		req.ServerURL = bd.tb.MCP.URL()
	}
	return bd.b.Token(context.Background(), req)
}

func clientAuth(c testbed.Client, key *ecdsa.PrivateKey) grant.ClientAuth {
	a := grant.ClientAuth{Method: grant.AuthMethod(c.Auth), ClientID: c.ID, Secret: c.Secret}
	if key != nil {
		a.Key = key
	}
	return a
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantReason(t *testing.T, err error, r broker.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", r)
	}
	if got := broker.ReasonOf(err); got != r {
		t.Fatalf("reason %s, want %s (error: %v)", got, r, err)
	}
}

// recorder is a real transport that remembers the form bodies of POSTs, so
// tests can check what went over the wire (each assertion sent once).
type recorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	posts []url.Values
	paths []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if f, err := url.ParseQuery(string(b)); err == nil {
			r.mu.Lock()
			r.posts = append(r.posts, f)
			r.paths = append(r.paths, req.URL.Path)
			r.mu.Unlock()
		}
		req.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return r.base.RoundTrip(req)
}

// values returns every value of param in POSTs, in order.
func (r *recorder) values(param string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.posts {
		out = append(out, f[param]...)
	}
	return out
}
