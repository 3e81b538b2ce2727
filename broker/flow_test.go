package broker_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func formKeys(rec testbed.RequestRecord) []string {
	var keys []string
	for k := range rec.Form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// docs/protocol.md §6 items 1, 2 and 16: exactly the profile's parameters, the
// validated issuer and resource byte for byte, separate client ids.
func TestHappyPathExactParameters(t *testing.T) {
	for _, slash := range []bool{false, true} {
		bd := newBed(t, bedOpts{tb: testbed.Options{ASIssuerTrailingSlash: slash}})
		tok, err := bd.token(t, broker.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Source != broker.SourceNetwork || tok.Type != "Bearer" || tok.AccessToken == "" {
			t.Errorf("token %+v", tok)
		}
		ex, _ := bd.tb.LastRequest(testbed.EndpointIdPToken)
		want := []string{"audience", "grant_type", "requested_token_type", "resource", "scope", "subject_token", "subject_token_type"}
		if got := formKeys(ex); !slices.Equal(got, want) {
			t.Errorf("token exchange parameters %v, want %v", got, want)
		}
		if ex.Form.Get("audience") != bd.tb.AS.Issuer() {
			t.Errorf("audience %q, want the AS issuer %q byte for byte", ex.Form.Get("audience"), bd.tb.AS.Issuer())
		}
		if slash != (bd.tb.AS.Issuer()[len(bd.tb.AS.Issuer())-1] == '/') {
			t.Errorf("testbed issuer %q, trailing slash %v", bd.tb.AS.Issuer(), slash)
		}
		if ex.Form.Get("resource") != bd.tb.MCP.URL() || tok.Resource != bd.tb.MCP.URL() {
			t.Errorf("resource %q", ex.Form.Get("resource"))
		}
		if ex.Form.Get("requested_token_type") != "urn:ietf:params:oauth:token-type:id-jag" ||
			ex.Form.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:id_token" {
			t.Errorf("token types %v", ex.Form)
		}
		if ex.ClientID != "idp-client" {
			t.Errorf("IdP authenticated %q", ex.ClientID)
		}
		jb, _ := bd.tb.LastRequest(testbed.EndpointASToken)
		if got := formKeys(jb); !slices.Equal(got, []string{"assertion", "grant_type", "resource", "scope"}) {
			t.Errorf("jwt-bearer parameters %v", got)
		}
		if jb.ClientID != "mcp-client" {
			t.Errorf("AS authenticated %q", jb.ClientID)
		}
		if c := bd.tb.Counters(); c.TokenExchanges != 1 || c.JWTBearerGrants != 1 {
			t.Errorf("exchanges %d grants %d", c.TokenExchanges, c.JWTBearerGrants)
		}
	}
}

func TestCacheMinValidAndForce(t *testing.T) {
	bd := newBed(t, bedOpts{})
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Source != broker.SourceMemory || again.AccessToken != first.AccessToken || bd.tb.TokenExchanges() != 1 {
		t.Fatalf("second request not served from memory: %v, exchanges %d", again.Source, bd.tb.TokenExchanges())
	}
	// The testbed issues 1 h tokens; asking for 2 h forces a refresh that
	// cannot satisfy the request either.
	if _, err := bd.token(t, broker.TokenRequest{MinValid: 2 * time.Hour}); err == nil {
		t.Fatal("min_valid_for longer than the token lifetime accepted")
	}
	forced, err := bd.token(t, broker.TokenRequest{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.AccessToken == first.AccessToken || forced.Source != broker.SourceNetwork {
		t.Fatal("force_refresh did not fetch a new token")
	}
	if n := bd.tb.TokenExchanges(); n != 3 {
		t.Fatalf("exchanges %d, want 3 (first, min_valid, force)", n)
	}
	info := bd.b.Servers()
	if len(info) != 1 || info[0].Counters.CacheHits != 1 || info[0].Counters.Refreshes != 3 || info[0].State != broker.ServerReady {
		t.Fatalf("server info %+v", info)
	}
}

// docs/protocol.md §6 item 14: concurrent cold requests share one flight.
func TestSingleFlight(t *testing.T) {
	bd := newBed(t, bedOpts{})
	const n = 100
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got a different token", i)
		}
	}
	if c := bd.tb.Counters(); c.TokenExchanges != 1 || c.JWTBearerGrants != 1 {
		t.Fatalf("%d exchanges and %d grants for %d concurrent callers, want 1 and 1", c.TokenExchanges, c.JWTBearerGrants, n)
	}
}

// A caller that gives up does not fail the flight others wait on.
func TestCallerCancelDoesNotFailOthers(t *testing.T) {
	bd := newBed(t, bedOpts{})
	bd.tb.QueueFault(testbed.EndpointASToken, 1, testbed.Fault{Latency: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled caller got no error")
	}
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := bd.tb.JWTBearerGrants(); n != 1 {
		t.Fatalf("grants %d, want 1", n)
	}
}

// docs/protocol.md §6 item 7: a narrowed scope is used for the grant.
func TestScopeNarrowing(t *testing.T) {
	bd := newBed(t, bedOpts{tb: testbed.Options{GrantableScopes: []string{"tools.read"}}})
	tok, err := bd.token(t, broker.TokenRequest{Scopes: []string{"tools.call", "tools.read"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tok.Scopes, []string{"tools.read"}) {
		t.Errorf("granted %v", tok.Scopes)
	}
	jb, _ := bd.tb.LastRequest(testbed.EndpointASToken)
	if jb.Form.Get("scope") != "tools.read" {
		t.Errorf("jwt-bearer scope %q, want the narrowed tools.read", jb.Form.Get("scope"))
	}
}

// The default scopes come from the server's metadata when nobody names any.
func TestDefaultScopesFromMetadata(t *testing.T) {
	bd := newBed(t, bedOpts{})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	ex, _ := bd.tb.LastRequest(testbed.EndpointIdPToken)
	if ex.Form.Get("scope") != "tools.read tools.call" {
		t.Errorf("scope %q, want the advertised scopes", ex.Form.Get("scope"))
	}
}
