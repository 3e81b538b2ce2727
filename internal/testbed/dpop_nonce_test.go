package testbed

import (
	"net/http"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// TestDPoPNonceAtAS: RFC 9449 §8. A proof without the nonce gets 400
// use_dpop_nonce and a DPoP-Nonce, and nothing is consumed: the same
// ID-JAG then succeeds with a proof carrying the nonce. A nonce the server
// never issued is refused the same way.
func TestDPoPNonceAtAS(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true, RequireNonce: []Endpoint{EndpointASToken}}})
	raw, key := dpopKeys(t)
	nonces := dpop.NewNonces(0)
	jag := dpopExchange(t, tb, key) // no nonce needed at the IdP
	ep := tb.AS.TokenEndpoint()
	for _, proof := range []string{
		mustProof(t, tb, key, dpop.Request{Method: "POST", URL: ep}),
		mustForge(t, tb, raw, ForgeRequest{Method: "POST", URL: ep, Flaw: FlawNonceStale}),
	} {
		r := postWithProofs(t, tb, ep, bearerForm(jag), asBasic(tb), proof)
		wantOAuthError(t, r, http.StatusBadRequest, "use_dpop_nonce")
		body := []byte(`{"error":"` + r.str("error") + `"}`)
		n, ok := dpop.TokenNonceChallenge(r.status, r.header, body)
		if !ok || n != tb.DPoPNonce(EndpointASToken) {
			t.Fatalf("nonce challenge not recognised: %q %v (headers %v)", n, ok, r.header)
		}
		nonces.Set(ep, n)
	}
	if tb.JWTBearerGrants() != 0 {
		t.Fatal("a nonce challenge issued a token")
	}
	proof := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: ep, Nonce: nonces.Get(ep)})
	r := postWithProofs(t, tb, ep, bearerForm(jag), asBasic(tb), proof)
	if r.status != http.StatusOK || r.str("token_type") != "DPoP" {
		t.Fatalf("retry with the nonce: %d %v", r.status, r.body)
	}
	if !nonces.Observe(ep, r.header) {
		t.Error("the successful response carries no DPoP-Nonce")
	}
	if c := tb.DPoPCounters()[EndpointASToken]; c.NonceChallenges != 2 || c.Accepted != 1 || c.Rejected != 0 {
		t.Errorf("counts = %+v", c)
	}
}

// TestDPoPNonceRotationAtMCP: RFC 9449 §9. The MCP server asks for a nonce
// with 401 and WWW-Authenticate: DPoP error="use_dpop_nonce"; after every
// second accepted proof it issues a new one in DPoP-Nonce and refuses the
// old one, and a client that remembers the latest nonce keeps working.
func TestDPoPNonceRotationAtMCP(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true, RequireNonce: []Endpoint{EndpointMCP}, RotateNonceEvery: 2}})
	_, key := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	nonces := dpop.NewNonces(0)
	call := func() response {
		p := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok, Nonce: nonces.Get(tb.MCP.URL())})
		r := mcpCall(t, tb, "DPoP", tok, p)
		nonces.Observe(tb.MCP.URL(), r.header)
		return r
	}
	challenged := func(r response) bool {
		_, ok := dpop.ResourceNonceChallenge(r.status, r.header)
		return ok
	}
	if r := call(); !challenged(r) {
		t.Fatalf("first call without a nonce: %d %v", r.status, r.header.Values("WWW-Authenticate"))
	}
	first := nonces.Get(tb.MCP.URL())
	for i := range 2 {
		if r := call(); r.status != http.StatusOK {
			t.Fatalf("call %d with the nonce: %d", i, r.status)
		}
	}
	second := nonces.Get(tb.MCP.URL())
	if second == first || second != tb.DPoPNonce(EndpointMCP) {
		t.Fatalf("no rotation after two proofs: %q -> %q (server %q)", first, second, tb.DPoPNonce(EndpointMCP))
	}
	// The old nonce is refused; the new one works.
	stale := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok, Nonce: first})
	if r := mcpCall(t, tb, "DPoP", tok, stale); !challenged(r) {
		t.Fatalf("stale nonce: %d %v", r.status, r.header.Values("WWW-Authenticate"))
	}
	if r := call(); r.status != http.StatusOK {
		t.Fatalf("with the rotated nonce: %d", r.status)
	}
	// A forced rotation is announced the same way.
	tb.RotateDPoPNonce(EndpointMCP)
	if r := call(); !challenged(r) {
		t.Fatalf("after RotateDPoPNonce: %d", r.status)
	}
	if r := call(); r.status != http.StatusOK {
		t.Fatalf("after learning the forced nonce: %d", r.status)
	}
}

// TestDPoPNonceAtIdP: the IdP's token exchange asks for a nonce too, and
// the retry still binds the ID-JAG.
func TestDPoPNonceAtIdP(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true, RequireNonce: []Endpoint{EndpointIdPToken}}})
	_, key := dpopKeys(t)
	ep := tb.IdP.TokenEndpoint()
	form := exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{}))
	r := postWithProofs(t, tb, ep, form, idpBasic(tb), mustProof(t, tb, key, dpop.Request{Method: "POST", URL: ep}))
	wantOAuthError(t, r, http.StatusBadRequest, "use_dpop_nonce")
	n, ok := dpop.ParseNonce(r.header)
	if !ok {
		t.Fatal("no DPoP-Nonce")
	}
	r = postWithProofs(t, tb, ep, form, idpBasic(tb), mustProof(t, tb, key, dpop.Request{Method: "POST", URL: ep, Nonce: n}))
	if r.status != http.StatusOK {
		t.Fatalf("retry: %d %v", r.status, r.body)
	}
	if _, c := decodeJWT(t, r.str("access_token")); c["cnf"].(map[string]any)["jkt"] != key.Thumbprint() {
		t.Errorf("ID-JAG cnf = %v", c["cnf"])
	}
}
