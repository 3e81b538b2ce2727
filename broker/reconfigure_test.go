package broker_test

import (
	"context"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// A reload that keeps the server allowed keeps its token: the next request
// is served from memory, with no new exchange.
func TestReconfigureKeepsTokensOfAllowedServers(t *testing.T) {
	bd := newBed(t, bedOpts{})
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bd.cfg
	cfg.AllowUnlisted = false
	cfg.Servers = []broker.ServerConfig{{URL: bd.tb.MCP.URL(), KeepWarm: true}}
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	again, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken != first.AccessToken || again.Source != broker.SourceMemory || bd.tb.TokenExchanges() != 1 {
		t.Fatalf("token not kept across the reload: source %v, exchanges %d", again.Source, bd.tb.TokenExchanges())
	}
	info := bd.b.Servers()
	if len(info) != 1 || info[0].Origin != broker.OriginConfig || !info[0].KeepWarm || len(info[0].Scopes) != 0 {
		t.Fatalf("server after reload: %+v", info)
	}
	if id := bd.b.Identity(); id.State != broker.SignedIn {
		t.Fatalf("identity after a reload with the same IdP: %+v", id)
	}
}

// A server the new configuration does not allow is forgotten with its tokens.
func TestReconfigureForgetsServersNoLongerAllowed(t *testing.T) {
	bd := newBed(t, bedOpts{})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	cfg := bd.cfg
	cfg.AllowUnlisted = false
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if s := bd.b.Servers(); len(s) != 0 {
		t.Fatalf("servers after reload: %+v", s)
	}
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonServerNotAllowed)
}

// A configuration New would refuse changes nothing.
func TestReconfigureRejectsBadConfig(t *testing.T) {
	bd := newBed(t, bedOpts{})
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bad := bd.cfg
	bad.IdP.Issuer = "http://idp.remote.example" // plain http off loopback
	if err := bd.b.Reconfigure(bad); err == nil {
		t.Fatal("a non-https issuer was accepted")
	}
	bad = bd.cfg
	bad.AuthServers = map[string]grant.ClientAuth{bd.tb.AS.Issuer(): {Method: grant.ClientSecretBasic, ClientID: "x"}}
	if err := bd.b.Reconfigure(bad); err == nil {
		t.Fatal("client_secret_basic without a secret was accepted")
	}
	again, err := bd.token(t, broker.TokenRequest{})
	if err != nil || again.AccessToken != first.AccessToken {
		t.Fatalf("a refused reload disturbed the broker: %v", err)
	}
}

// Another IdP means another person: the identity and every token go, as
// they would across a restart.
func TestReconfigureNewIssuerSignsOut(t *testing.T) {
	bd := newBed(t, bedOpts{})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	cfg := bd.cfg
	cfg.IdP.Issuer = "https://idp.other.example"
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if id := bd.b.Identity(); id.State != broker.SignedOut || id.Issuer != cfg.IdP.Issuer {
		t.Fatalf("identity after the IdP changed: %+v", id)
	}
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonLoginRequired)
}

// Reloads race with token requests and sign-ins; run with -race.
func TestReconfigureConcurrent(t *testing.T) {
	bd := newBed(t, bedOpts{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL(), Force: true}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			cfg := bd.cfg
			cfg.Servers = []broker.ServerConfig{{URL: bd.tb.MCP.URL(), KeepWarm: i%2 == 0}}
			if err := bd.b.Reconfigure(cfg); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range 5 {
			idt, err := bd.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
			if err == nil {
				_, err = bd.b.ImportIdentity(context.Background(), idt, "")
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

// Narrowing a server's configured scopes drops the token minted with the
// old default scopes: it is never served as if it had the new ones.
func TestReconfigureNarrowedScopesDropToken(t *testing.T) {
	bd := newBed(t, bedOpts{})
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bd.cfg
	cfg.Servers = []broker.ServerConfig{{URL: bd.tb.MCP.URL(), Scopes: []string{"tools.read"}}}
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	again, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken == first.AccessToken || len(again.Scopes) != 1 || again.Scopes[0] != "tools.read" {
		t.Fatalf("after narrowing: same token %v, scopes %v", again.AccessToken == first.AccessToken, again.Scopes)
	}
}
