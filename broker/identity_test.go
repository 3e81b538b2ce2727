package broker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

func TestNotSignedIn(t *testing.T) {
	bd := newBed(t, bedOpts{noSignIn: true})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonLoginRequired)
	if !strings.Contains(err.Error(), "xaactl login") {
		t.Errorf("message %q does not say what to do", err)
	}
	if bd.b.Identity().State != broker.SignedOut {
		t.Error("state")
	}
}

func TestImportRejectsBadIDTokens(t *testing.T) {
	bd := newBed(t, bedOpts{noSignIn: true})
	long := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name string
		opts testbed.IDTokenOptions
		raw  string
	}{
		{"expired", testbed.IDTokenOptions{IssuedAt: long, Lifetime: time.Hour}, ""},
		{"other audience", testbed.IDTokenOptions{Audience: "someone-else"}, ""},
		{"other issuer", testbed.IDTokenOptions{Issuer: "https://evil.example"}, ""},
		{"forged signature", testbed.IDTokenOptions{ForeignKey: true}, ""},
		{"not a JWT", testbed.IDTokenOptions{}, "not-a-jwt"},
		{"alg none", testbed.IDTokenOptions{}, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."},
		{"empty", testbed.IDTokenOptions{}, " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if raw == "" {
				var err error
				if raw, err = bd.tb.IdP.MintIDToken(tt.opts); err != nil {
					t.Fatal(err)
				}
			}
			_, err := bd.b.ImportIdentity(context.Background(), raw, "")
			wantReason(t, err, broker.ReasonInvalidArgument)
			if len(raw) > 8 && strings.Contains(err.Error(), raw) {
				t.Error("the error repeats the token")
			}
		})
	}
	if bd.b.Identity().State != broker.SignedOut {
		t.Error("a rejected token changed the identity")
	}
}

func TestExpiredIdentityNeedsLogin(t *testing.T) {
	clk := clock.NewFake(time.Now())
	bd := newBed(t, bedOpts{clock: clk})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	// Two hours later the ID token (1 h) and the access token (1 h) are gone.
	clk.Advance(2 * time.Hour)
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonLoginRequired)
	if st := bd.b.Identity().State; st != broker.NeedsLogin {
		t.Errorf("identity state %v", st)
	}
}

func TestServerPolicy(t *testing.T) {
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) {
		c.AllowUnlisted = false
		c.Servers = []broker.ServerConfig{{URL: "https://listed.example/mcp"}}
	}})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonServerNotAllowed)
	_, err = bd.b.AddServer(context.Background(), bd.tb.MCP.URL(), nil, false)
	wantReason(t, err, broker.ReasonServerNotAllowed)
	err = bd.b.RemoveServer(context.Background(), "https://listed.example/mcp")
	wantReason(t, err, broker.ReasonConfig)
	if n := bd.tb.Requests(testbed.EndpointPRM); n != 0 {
		t.Errorf("a refused server was contacted %d times", n)
	}
}

// A restarted broker serves the persisted token with no new exchange, and
// a token for another person is never served.
func TestPersistenceAcrossRestart(t *testing.T) {
	store := storage.NewMem()
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) { c.Store = store }})
	if _, err := bd.b.AddServer(context.Background(), "https://other.example/mcp", []string{"a"}, true); err != nil {
		t.Fatal(err)
	}
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := broker.New(bd.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, err := b2.Token(context.Background(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != broker.SourceDisk || tok.AccessToken != first.AccessToken {
		t.Errorf("restart: source %v, same token %v", tok.Source, tok.AccessToken == first.AccessToken)
	}
	if n := bd.tb.TokenExchanges(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
	if len(b2.Servers()) != 2 || b2.Identity().Subject != "alice" {
		t.Errorf("servers %d, identity %+v", len(b2.Servers()), b2.Identity())
	}

	// Another person signs in: alice's tokens are dropped.
	bob, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{Subject: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.ImportIdentity(context.Background(), bob, ""); err != nil {
		t.Fatal(err)
	}
	tok, err = b2.Token(context.Background(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == first.AccessToken || tok.Source != broker.SourceNetwork {
		t.Error("alice's token was served to bob")
	}
	recs, _ := store.List("tokens")
	if len(recs) != 1 {
		t.Errorf("%d token records after the switch, want 1", len(recs))
	}
}

// A damaged record is skipped, never fatal and never guessed at.
func TestLoadSkipsGarbageRecords(t *testing.T) {
	store := storage.NewMem()
	for _, kv := range [][3]string{{"identity", "current", "{garbage"}, {"servers", "x", `{"v":99}`}, {"tokens", "y", "[]"}} {
		if err := store.Put(kv[0], kv[1], []byte(kv[2])); err != nil {
			t.Fatal(err)
		}
	}
	bd := newBed(t, bedOpts{noSignIn: true, configure: func(c *broker.Config) { c.Store = store }})
	if bd.b.Identity().State != broker.SignedOut || len(bd.b.Servers()) != 0 {
		t.Error("garbage was loaded")
	}
}
