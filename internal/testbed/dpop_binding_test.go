package testbed

import (
	"net/http"
	"slices"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// TestDPoPBindingIDJAG: JAG §7.4.1.1-2. A proof at the exchange puts the
// key's thumbprint in cnf.jkt; the AS honours a bound ID-JAG only with a
// proof of that very key, and binds the access token to it.
func TestDPoPBindingIDJAG(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true}})
	_, key := dpopKeys(t)
	_, other := dpopKeys(t)
	ep := tb.AS.TokenEndpoint()
	proof := func(k *dpop.Key) string { return mustProof(t, tb, k, dpop.Request{Method: "POST", URL: ep}) }

	jag := dpopExchange(t, tb, key)
	if _, c := decodeJWT(t, jag); c["cnf"].(map[string]any)["jkt"] != key.Thumbprint() {
		t.Fatalf("ID-JAG cnf = %v, want jkt %s", c["cnf"], key.Thumbprint())
	}
	if _, c := decodeJWT(t, exchange(t, tb)); c["cnf"] != nil {
		t.Errorf("exchange without a proof bound the ID-JAG: %v", c["cnf"])
	}
	r := postForm(t, tb, ep, bearerForm(jag), asBasic(tb))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	r = postWithProofs(t, tb, ep, bearerForm(jag), asBasic(tb), proof(other))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	r = postWithProofs(t, tb, ep, bearerForm(jag), asBasic(tb), proof(key))
	if r.status != http.StatusOK || r.str("token_type") != "DPoP" {
		t.Fatalf("bound ID-JAG with its key: %d %v", r.status, r.body)
	}
	if _, c := decodeJWT(t, r.str("access_token")); c["cnf"].(map[string]any)["jkt"] != key.Thumbprint() {
		t.Errorf("access token cnf = %v", c["cnf"])
	}

	// An unbound ID-JAG with a proof gets a bound token; without a proof,
	// a Bearer token.
	r = postWithProofs(t, tb, ep, bearerForm(exchange(t, tb)), asBasic(tb), proof(other))
	if r.status != http.StatusOK || r.str("token_type") != "DPoP" {
		t.Fatalf("unbound ID-JAG with a proof: %d %v", r.status, r.body)
	}
	r = postForm(t, tb, ep, bearerForm(exchange(t, tb)), asBasic(tb))
	if r.status != http.StatusOK || r.str("token_type") != "Bearer" {
		t.Fatalf("unbound ID-JAG without a proof: %d %v", r.status, r.body)
	}
	if _, c := decodeJWT(t, r.str("access_token")); c["cnf"] != nil {
		t.Errorf("Bearer token carries cnf %v", c["cnf"])
	}
	// A cnf the AS cannot read is refused, not ignored.
	claims := tb.IdP.IDJAGClaims()
	claims["cnf"] = map[string]any{"x5t#S256": "abc"}
	odd, _ := tb.IdP.SignJWT(typIDJAG, claims)
	wantOAuthError(t, postWithProofs(t, tb, ep, bearerForm(odd), asBasic(tb), proof(key)), http.StatusBadRequest, "invalid_grant")
}

// TestDPoPBindingAtMCP: a DPoP-bound access token is useless without a
// proof of its key (RFC 9449 §7): as a Bearer token, with no proof, or
// with a stolen token and the thief's own valid proof.
func TestDPoPBindingAtMCP(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true}})
	_, key := dpopKeys(t)
	thiefRaw, thief := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	rs := func(k *dpop.Key, tok string) string {
		return mustProof(t, tb, k, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})
	}
	wantInvalidToken := func(name string, r response) {
		t.Helper()
		if r.status != http.StatusUnauthorized || dpopChallengeOf(t, r)["error"] != "invalid_token" {
			t.Errorf("%s: %d %v", name, r.status, r.header.Values("WWW-Authenticate"))
		}
	}
	wantInvalidToken("bound token as Bearer", mcpCall(t, tb, "Bearer", tok))
	wantInvalidToken("bound token as Bearer with a proof", mcpCall(t, tb, "Bearer", tok, rs(key, tok)))

	stolen := mcpCall(t, tb, "DPoP", tok, rs(thief, tok))
	if stolen.status != http.StatusUnauthorized {
		t.Fatalf("stolen token with the thief's proof: %d", stolen.status)
	}
	wantRule(t, dpopChallengeOf(t, stolen)["error_description"], RuleBinding)
	forged := mustForge(t, tb, thiefRaw, ForgeRequest{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})
	wantRule(t, dpopChallengeOf(t, mcpCall(t, tb, "DPoP", tok, forged))["error_description"], RuleBinding)

	// An unbound token is a Bearer token, not a DPoP one.
	bearer := accessToken(t, tb)
	wantInvalidToken("unbound token as DPoP", mcpCall(t, tb, "DPoP", bearer, rs(key, bearer)))
	if r := mcpCall(t, tb, "Bearer", bearer); r.status != http.StatusOK {
		t.Errorf("unbound Bearer token: %d", r.status)
	}
	if r := mcpCall(t, tb, "dpop", tok, rs(key, tok)); r.status != http.StatusOK {
		t.Errorf("bound token with its proof (scheme in lower case): %d %v", r.status, r.header.Values("WWW-Authenticate"))
	}
	// The whoami tool sees the caller as usual behind the DPoP check.
	if c := tb.Counters(); c.MCPCalls != 2 {
		t.Errorf("MCPCalls = %d", c.MCPCalls)
	}
}

// TestDPoPRequired: with RequireProof the AS issues no Bearer token and
// the MCP server takes no Bearer token; its challenge offers DPoP only.
func TestDPoPRequired(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true, RequireProof: true}})
	r := postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	claims := tb.AS.AccessTokenClaims()
	unbound, _ := tb.AS.SignJWT(typAccessToken, claims)
	r = mcpCall(t, tb, "Bearer", unbound)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("Bearer under RequireProof: %d", r.status)
	}
	if hs := r.header.Values("WWW-Authenticate"); len(hs) != 1 || dpopChallengeOf(t, r)["error"] != "invalid_token" {
		t.Errorf("challenges = %q, want one DPoP challenge", hs)
	}
	_, key := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	if r := mcpCall(t, tb, "DPoP", tok, mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})); r.status != http.StatusOK {
		t.Errorf("DPoP under RequireProof: %d", r.status)
	}
}

// TestDPoPDowngradeTweaks: the IdP can leave cnf out or put a wrong jkt in
// it, and the AS can answer Bearer despite a proof, so clients can be
// tested for noticing (JAG §7.4.1.1).
func TestDPoPDowngradeTweaks(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true}})
	_, key := dpopKeys(t)
	tb.IdP.SetTweaks(IdPTweaks{IDJAGOmitCnf: true})
	if _, c := decodeJWT(t, dpopExchange(t, tb, key)); c["cnf"] != nil {
		t.Errorf("IDJAGOmitCnf: cnf = %v", c["cnf"])
	}
	tb.IdP.SetTweaks(IdPTweaks{IDJAGCnfJKT: "wrong"})
	if _, c := decodeJWT(t, dpopExchange(t, tb, key)); c["cnf"].(map[string]any)["jkt"] != "wrong" {
		t.Errorf("IDJAGCnfJKT: cnf = %v", c["cnf"])
	}
	tb.IdP.SetTweaks(IdPTweaks{})
	tb.AS.SetTweaks(ASTweaks{BearerDespiteProof: true})
	r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb), mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()}))
	if r.status != http.StatusOK || r.str("token_type") != "Bearer" {
		t.Errorf("BearerDespiteProof: %d %v", r.status, r.body)
	}
}

// TestDPoPOff: without Options.DPoP nothing changes: no metadata, the DPoP
// header is ignored (a Bearer token comes back), a bound ID-JAG is refused
// and the MCP server does not know the DPoP scheme.
func TestDPoPOff(t *testing.T) {
	tb := start(t, Options{})
	_, key := dpopKeys(t)
	for _, u := range []string{tb.AS.MetadataURL(), tb.IdP.MetadataURL()} {
		if r := get(t, tb, u); r.body["dpop_signing_alg_values_supported"] != nil {
			t.Errorf("%s advertises DPoP", u)
		}
	}
	r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb), mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()}))
	if r.status != http.StatusOK || r.str("token_type") != "Bearer" {
		t.Fatalf("DPoP header at a non-DPoP AS: %d %v", r.status, r.body)
	}
	tok := r.str("access_token")
	if r := mcpCall(t, tb, "DPoP", tok, mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || len(r.header.Values("WWW-Authenticate")) != 1 {
		t.Errorf("DPoP scheme at a non-DPoP MCP server: %d %q", r.status, r.header.Values("WWW-Authenticate"))
	}
	if tb.DPoPCounters() != nil || tb.DPoPNonce(EndpointMCP) != "" || tb.RotateDPoPNonce(EndpointMCP) != "" {
		t.Error("DPoP state exists while DPoP is off")
	}
}

func TestDPoPMetadata(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true, Algorithms: []string{"PS256", "ES256"}}})
	for _, u := range []string{tb.AS.MetadataURL(), tb.IdP.MetadataURL()} {
		algs, _ := get(t, tb, u).body["dpop_signing_alg_values_supported"].([]any)
		if !slices.Equal(algs, []any{"PS256", "ES256"}) {
			t.Errorf("%s: dpop_signing_alg_values_supported = %v", u, algs)
		}
	}
	// The allow-list is enforced: ES384 is not on it.
	k, err := dpop.GenerateKey(dpop.ES384)
	if err != nil {
		t.Fatal(err)
	}
	r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb), mustProof(t, tb, k, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()}))
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
	wantRule(t, r.str("error_description"), RuleAlg)
}

// TestDPoPAlgorithms: proofs from broker/dpop keys of every algorithm it
// supports pass the verifier.
func TestDPoPAlgorithms(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true}})
	for _, alg := range dpop.Supported() {
		k, err := dpop.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		tok := dpopAccessToken(t, tb, k)
		if r := mcpCall(t, tb, "DPoP", tok, mustProof(t, tb, k, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})); r.status != http.StatusOK {
			t.Errorf("%s: %d %v", alg, r.status, r.header.Values("WWW-Authenticate"))
		}
	}
}

func TestDPoPOptionsValidate(t *testing.T) {
	for _, o := range []DPoPOptions{
		{Enabled: true, Algorithms: []string{"ES256", "HS256"}},
		{Enabled: true, Algorithms: []string{"none"}},
		{Enabled: true, RequireNonce: []Endpoint{EndpointASMetadata}},
		{Enabled: true, RotateNonceEvery: -1},
	} {
		if tb, err := Start(Options{DPoP: o}); err == nil {
			tb.Close()
			t.Errorf("Start accepted %+v", o)
		}
	}
}
