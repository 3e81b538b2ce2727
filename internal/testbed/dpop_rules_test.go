package testbed

import (
	"net/http"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// proofRuleCases are the flaws of ForgeProof and the rule each breaks.
// resourceOnly flaws concern ath, which token endpoints do not check.
var proofRuleCases = []struct {
	flaw         ProofFlaw
	rule         ProofRule
	resourceOnly bool
}{
	{FlawNotJWT, RuleJWT, false},
	{FlawPaddedBase64, RuleJWT, false},
	{FlawCrit, RuleJWT, false},
	{FlawTypJWT, RuleTyp, false},
	{FlawNoTyp, RuleTyp, false},
	{FlawAlgNone, RuleAlg, false},
	{FlawAlgHS256, RuleAlg, false},
	{FlawNoJWK, RuleJWK, false},
	{FlawPrivateJWK, RuleJWK, false},
	{FlawAlgKeyMismatch, RuleJWK, false},
	{FlawBadSignature, RuleSignature, false},
	{FlawSignedByOther, RuleSignature, false},
	{FlawNoJTI, RuleClaims, false},
	{FlawIatString, RuleClaims, false},
	{FlawHTM, RuleHTM, false},
	{FlawHTMLowercase, RuleHTM, false},
	{FlawHTU, RuleHTU, false},
	{FlawHTUQuery, RuleHTU, false},
	{FlawIatPast, RuleIat, false},
	{FlawIatFuture, RuleIat, false},
	{FlawNoATH, RuleATH, true},
	{FlawATHOtherToken, RuleATH, true},
}

// TestDPoPProofRulesAtMCP: for each rule of RFC 9449 §4.3, the MCP server
// refuses a proof that breaks it (401, DPoP error="invalid_dpop_proof",
// the rule named) and then serves the same token with a proof from
// broker/dpop.
func TestDPoPProofRulesAtMCP(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now, DPoP: DPoPOptions{Enabled: true}})
	raw, key := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	honest := func() string {
		return mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})
	}
	for _, tc := range proofRuleCases {
		t.Run(string(tc.flaw), func(t *testing.T) {
			bad := mustForge(t, tb, raw, ForgeRequest{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok, Flaw: tc.flaw})
			r := mcpCall(t, tb, "DPoP", tok, bad)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("flawed proof: status %d", r.status)
			}
			ch := dpopChallengeOf(t, r)
			if ch["error"] != "invalid_dpop_proof" {
				t.Fatalf("challenge = %v", ch)
			}
			wantRule(t, ch["error_description"], tc.rule)
			if r := mcpCall(t, tb, "DPoP", tok, honest()); r.status != http.StatusOK {
				t.Fatalf("broker/dpop proof refused: %d %v", r.status, r.header.Values("WWW-Authenticate"))
			}
		})
	}
	// ForgeProof without a flaw is honest, so the refusals above are the
	// flaws' doing and not the forger's.
	if r := mcpCall(t, tb, "DPoP", tok, mustForge(t, tb, raw, ForgeRequest{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})); r.status != http.StatusOK {
		t.Fatalf("honest forged proof refused: %d %v", r.status, r.header.Values("WWW-Authenticate"))
	}
}

// TestDPoPProofRulesAtAS: the AS token endpoint refuses each flawed proof
// with 400 invalid_dpop_proof before it looks at the grant, so the same
// ID-JAG then succeeds with a broker/dpop proof.
func TestDPoPProofRulesAtAS(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now, DPoP: DPoPOptions{Enabled: true}})
	raw, key := dpopKeys(t)
	for _, tc := range proofRuleCases {
		if tc.resourceOnly {
			continue
		}
		t.Run(string(tc.flaw), func(t *testing.T) {
			jag := dpopExchange(t, tb, key)
			bad := mustForge(t, tb, raw, ForgeRequest{Method: "POST", URL: tb.AS.TokenEndpoint(), Flaw: tc.flaw})
			r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag), asBasic(tb), bad)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
			wantRule(t, r.str("error_description"), tc.rule)
			good := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()})
			if r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag), asBasic(tb), good); r.status != http.StatusOK || r.str("token_type") != "DPoP" {
				t.Fatalf("broker/dpop proof with the same ID-JAG: %d %v", r.status, r.body)
			}
		})
	}
}

// TestDPoPOneHeader: RFC 9449 §4.3 item 1 at both servers: two DPoP
// headers are refused even when both are valid, and at the MCP server a
// DPoP-scheme request without any proof is refused.
func TestDPoPOneHeader(t *testing.T) {
	tb := start(t, Options{DPoP: DPoPOptions{Enabled: true}})
	_, key := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	rs := func() string {
		return mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})
	}
	for name, proofs := range map[string][]string{"two": {rs(), rs()}, "none": nil} {
		r := mcpCall(t, tb, "DPoP", tok, proofs...)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("%s proofs: %d", name, r.status)
		}
		wantRule(t, dpopChallengeOf(t, r)["error_description"], RuleOneHeader)
	}
	as := func() string { return mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()}) }
	r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(dpopExchange(t, tb, key)), asBasic(tb), as(), as())
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
	wantRule(t, r.str("error_description"), RuleOneHeader)
	if r := mcpCall(t, tb, "DPoP", tok, rs()); r.status != http.StatusOK {
		t.Fatalf("one proof: %d", r.status)
	}
}

// TestDPoPReplay: a proof is good once per key (RFC 9449 §11.1), at the
// token endpoint and at the MCP server; a full replay cache refuses rather
// than forgets.
func TestDPoPReplay(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now, DPoP: DPoPOptions{Enabled: true, ReplayCacheSize: 3}})
	_, key := dpopKeys(t)
	tok := dpopAccessToken(t, tb, key)
	proof := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})
	if r := mcpCall(t, tb, "DPoP", tok, proof); r.status != http.StatusOK {
		t.Fatalf("first use: %d", r.status)
	}
	r := mcpCall(t, tb, "DPoP", tok, proof)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("replay: %d", r.status)
	}
	wantRule(t, dpopChallengeOf(t, r)["error_description"], RuleReplay)

	asProof := mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()})
	if r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(dpopExchange(t, tb, key)), asBasic(tb), asProof); r.status != http.StatusOK {
		t.Fatalf("AS first use: %d %v", r.status, r.body)
	}
	r = postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(dpopExchange(t, tb, key)), asBasic(tb), asProof)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
	wantRule(t, r.str("error_description"), RuleReplay)

	// The MCP cache holds one jti; two more fill it. A fourth live proof is
	// refused, and once the first ones expire there is room again.
	for i := range 3 {
		r := mcpCall(t, tb, "DPoP", tok, mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok}))
		if want := map[bool]int{true: http.StatusOK, false: http.StatusUnauthorized}[i < 2]; r.status != want {
			t.Fatalf("proof %d: status %d, want %d", i, r.status, want)
		}
	}
	clock.Advance(tb.opts.DPoP.IatWindow + 2e9)
	if r := mcpCall(t, tb, "DPoP", tok, mustProof(t, tb, key, dpop.Request{Method: "POST", URL: tb.MCP.URL(), AccessToken: tok})); r.status != http.StatusOK {
		t.Fatalf("after expiry: %d %v", r.status, r.header.Values("WWW-Authenticate"))
	}
}
