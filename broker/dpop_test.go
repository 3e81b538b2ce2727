package broker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

// dpopBed is a bed whose testbed speaks DPoP, with policy p for its AS.
func dpopBed(t *testing.T, o testbed.DPoPOptions, p broker.DPoPPolicy, configure ...func(*broker.Config)) *bed {
	t.Helper()
	o.Enabled = true
	return newBed(t, bedOpts{tb: testbed.Options{DPoP: o}, configure: func(c *broker.Config) {
		c.AuthServerDPoP = map[string]broker.DPoPPolicy{}
		for iss := range c.AuthServers {
			c.AuthServerDPoP[iss] = p
		}
		for _, f := range configure {
			f(c)
		}
	}})
}

// mcpStatus posts an initialize to the testbed MCP server with
// "Authorization: <scheme> tok" and the proof, if any.
func mcpStatus(t *testing.T, bd *bed, scheme, tok, proof string) (int, http.Header) {
	t.Helper()
	resp, err := bd.tb.MCP.PostInitialize(t.Context(), scheme+" "+tok, proof)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header
}

func proofFor(t *testing.T, bd *bed, tok *broker.Token, nonce string) string {
	t.Helper()
	p, err := bd.b.Proof(broker.ProofRequest{ServerURL: bd.tb.MCP.URL(), AccessToken: tok.AccessToken, Method: http.MethodPost, URL: bd.tb.MCP.URL(), Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// With DPoP at the IdP and the AS, the exchange and the grant carry proofs
// of the sign-in's key, the token is bound to it, and the broker's proofs
// get it past the MCP server.
func TestDPoPBindsTheToken(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{RequireProof: true}, broker.DPoPAuto)
	id := bd.b.Identity()
	if id.DPoPThumbprint == "" || id.DPoPAlgorithm != "ES256" {
		t.Fatalf("identity %+v: want an ES256 key's thumbprint", id)
	}
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type != "DPoP" || tok.JKT != id.DPoPThumbprint {
		t.Fatalf("token type %q jkt %q, want DPoP bound to %s", tok.Type, tok.JKT, id.DPoPThumbprint)
	}
	c := bd.tb.DPoPCounters()
	if c[testbed.EndpointIdPToken].Accepted != 1 || c[testbed.EndpointASToken].Accepted != 1 {
		t.Errorf("proofs accepted at IdP %d, AS %d; want 1 each", c[testbed.EndpointIdPToken].Accepted, c[testbed.EndpointASToken].Accepted)
	}
	if rec, _ := bd.tb.LastRequest(testbed.EndpointIdPToken); rec.Header.Get("DPoP") == "" {
		t.Error("the exchange carried no proof")
	}
	if st, _ := mcpStatus(t, bd, "DPoP", tok.AccessToken, proofFor(t, bd, tok, "")); st != http.StatusOK {
		t.Fatalf("MCP with the broker's proof: %d", st)
	}
	if si := bd.b.Servers()[0]; si.TokenType != "DPoP" || si.DPoP != broker.DPoPAuto {
		t.Errorf("server info type %q policy %q", si.TokenType, si.DPoP)
	}
}

// A stolen token does not work: not as a bearer token, not without a
// proof, not with a proof of another key, not with a proof the broker made
// for another request.
func TestDPoPStolenTokenIsUseless(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{RequireProof: true}, broker.DPoPRequired)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := testbed.ForgeProof(attacker, testbed.ForgeRequest{Method: http.MethodPost, URL: bd.tb.MCP.URL(), AccessToken: tok.AccessToken, IssuedAt: bd.tb.Now()})
	if err != nil {
		t.Fatal(err)
	}
	used := proofFor(t, bd, tok, "")
	if st, _ := mcpStatus(t, bd, "DPoP", tok.AccessToken, used); st != http.StatusOK {
		t.Fatalf("the owner's request: %d", st)
	}
	for name, c := range map[string]struct{ scheme, proof string }{
		"as a bearer token":        {"Bearer", ""},
		"without a proof":          {"DPoP", ""},
		"with another key's proof": {"DPoP", forged},
		"with a replayed proof":    {"DPoP", used},
	} {
		if st, _ := mcpStatus(t, bd, c.scheme, tok.AccessToken, c.proof); st != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
}

// use_dpop_nonce at the AS: one retry of the same request with the nonce,
// no second ID-JAG; the nonce of the last answer is used next time, and a
// rotation costs one more retry.
func TestDPoPNonceAtTheAS(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{RequireNonce: []testbed.Endpoint{testbed.EndpointASToken}, RotateNonceEvery: 2}, broker.DPoPRequired)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c := bd.tb.DPoPCounters()[testbed.EndpointASToken]
	if tok.Type != "DPoP" || c.NonceChallenges != 1 || c.Accepted != 1 {
		t.Fatalf("type %s, AS challenges %d accepted %d; want DPoP, 1, 1", tok.Type, c.NonceChallenges, c.Accepted)
	}
	if n := bd.tb.TokenExchanges(); n != 1 {
		t.Errorf("%d ID-JAGs minted, want 1: the nonce retry reuses the ID-JAG", n)
	}
	if a := bd.rec.values("assertion"); len(a) != 2 || a[0] != a[1] {
		t.Errorf("assertions sent %d times (equal: %t), want the same one twice", len(a), len(a) == 2 && a[0] == a[1])
	}
	// The nonce the AS gave is remembered: no challenge this time.
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err != nil {
		t.Fatal(err)
	}
	if c := bd.tb.DPoPCounters()[testbed.EndpointASToken]; c.NonceChallenges != 1 || c.Accepted != 2 {
		t.Fatalf("after a refresh: challenges %d accepted %d, want 1, 2", c.NonceChallenges, c.Accepted)
	}
	// Two accepted proofs rotated it, and the answer said so: still no
	// challenge. A rotation the broker did not see costs one retry.
	bd.tb.RotateDPoPNonce(testbed.EndpointASToken)
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err != nil {
		t.Fatal(err)
	}
	if c := bd.tb.DPoPCounters()[testbed.EndpointASToken]; c.NonceChallenges != 2 || c.Accepted != 3 {
		t.Fatalf("after a rotation: challenges %d accepted %d, want 2, 3", c.NonceChallenges, c.Accepted)
	}
	if n := bd.tb.TokenExchanges(); n != 3 {
		t.Errorf("%d ID-JAGs for 3 tokens", n)
	}
}

// A nonce the AS asks for again after the retry is not chased: the grant
// fails after two requests, without another ID-JAG.
func TestDPoPNonceIsNeverALoop(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPRequired)
	challenge := testbed.Fault{Error: "use_dpop_nonce", Header: http.Header{"Dpop-Nonce": {"n-1"}}}
	bd.tb.QueueFault(testbed.EndpointASToken, 3, challenge)
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonUpstreamUnavailable)
	if n := bd.tb.Requests(testbed.EndpointASToken); n != 2 {
		t.Errorf("%d requests to the AS, want 2 (one retry)", n)
	}
	if n := bd.tb.TokenExchanges(); n != 1 {
		t.Errorf("%d ID-JAGs minted, want 1", n)
	}
	if !strings.Contains(err.Error(), "nonce") {
		t.Errorf("error %q does not say what happened", err)
	}
}

// use_dpop_nonce at the IdP: the exchange is retried once with the nonce.
func TestDPoPNonceAtTheIdP(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{RequireNonce: []testbed.Endpoint{testbed.EndpointIdPToken}}, broker.DPoPRequired)
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	if c := bd.tb.DPoPCounters()[testbed.EndpointIdPToken]; c.NonceChallenges != 1 || c.Accepted != 1 {
		t.Fatalf("IdP challenges %d accepted %d, want 1, 1", c.NonceChallenges, c.Accepted)
	}
	if n := bd.tb.TokenExchanges(); n != 1 {
		t.Errorf("%d ID-JAGs minted, want 1", n)
	}
}

// An authorization server without DPoP: bearer tokens under auto; under
// required (here the server's own setting) a clear error naming it, and
// no ID-JAG minted for nothing.
func TestDPoPBearerOnlyAS(t *testing.T) {
	bd := newBed(t, bedOpts{})
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil || tok.Type != "Bearer" || tok.JKT != "" {
		t.Fatalf("under auto: %+v, %v; want a bearer token", tok, err)
	}
	cfg := bd.cfg
	cfg.Servers = []broker.ServerConfig{{URL: bd.tb.MCP.URL(), DPoP: broker.DPoPRequired}}
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	exchanges := bd.tb.TokenExchanges()
	_, err = bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonConfig)
	if !strings.Contains(err.Error(), `dpop = "required"`) || !strings.Contains(err.Error(), "does not advertise DPoP") {
		t.Errorf("error %q does not name the setting and the cause", err)
	}
	if n := bd.tb.TokenExchanges(); n != exchanges {
		t.Errorf("%d ID-JAGs minted for a server that cannot take them", n-exchanges)
	}
}

// An ID-JAG without our key's cnf.jkt, after a proof at the exchange, is a
// downgrade or a mix-up: refused, and never sent to the AS.
func TestDPoPIDJAGBindingChecked(t *testing.T) {
	for name, tw := range map[string]testbed.IdPTweaks{
		"downgrade (no cnf)": {IDJAGOmitCnf: true},
		"mix-up (other jkt)": {IDJAGCnfJKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
	} {
		t.Run(name, func(t *testing.T) {
			bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
			bd.tb.IdP.SetTweaks(tw)
			_, err := bd.token(t, broker.TokenRequest{})
			wantReason(t, err, broker.ReasonIdPDenied)
			if !strings.Contains(err.Error(), "not bound to xaad's DPoP key") {
				t.Errorf("error %q", err)
			}
			if n := bd.tb.Requests(testbed.EndpointASToken); n != 0 {
				t.Errorf("%d requests reached the AS with the refused ID-JAG", n)
			}
		})
	}
}

// An AS that answers a proof with a bearer token: used under auto,
// refused under required.
func TestDPoPBearerAnswerToAProof(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
	bd.tb.AS.SetTweaks(testbed.ASTweaks{BearerDespiteProof: true})
	if tok, err := bd.token(t, broker.TokenRequest{}); err != nil || tok.Type != "Bearer" {
		t.Fatalf("under auto: %v, %v", tok, err)
	}
	bd = dpopBed(t, testbed.DPoPOptions{}, broker.DPoPRequired)
	bd.tb.AS.SetTweaks(testbed.ASTweaks{BearerDespiteProof: true})
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonASDenied)
	if !strings.Contains(err.Error(), `dpop = "required"`) {
		t.Errorf("error %q does not name the setting", err)
	}
}

// Each sign-in makes a new key: the old key's tokens are dropped (bearer
// tokens of the same person stay), and the old token gets no more proofs.
// Logout takes the key.
func TestDPoPKeyPerSignIn(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
	first := bd.b.Identity().DPoPThumbprint
	old, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bd.signIn(t)
	if now := bd.b.Identity().DPoPThumbprint; now == first || now == "" {
		t.Fatalf("thumbprint after a new sign-in %q, before %q: want a new key", now, first)
	}
	_, err = bd.b.Proof(broker.ProofRequest{ServerURL: bd.tb.MCP.URL(), AccessToken: old.AccessToken, Method: "POST", URL: bd.tb.MCP.URL()})
	wantReason(t, err, broker.ReasonInvalidArgument)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != broker.SourceNetwork || tok.JKT != bd.b.Identity().DPoPThumbprint {
		t.Errorf("after the new sign-in: source %v jkt %q; want a new token bound to the new key", tok.Source, tok.JKT)
	}
	if _, err := bd.b.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	if id := bd.b.Identity(); id.DPoPThumbprint != "" {
		t.Errorf("after logout the identity still shows a key: %+v", id)
	}
	_, err = bd.b.Proof(broker.ProofRequest{ServerURL: bd.tb.MCP.URL(), AccessToken: tok.AccessToken, Method: "POST", URL: bd.tb.MCP.URL()})
	wantReason(t, err, broker.ReasonLoginRequired)
}

// The key is stored sealed with the identity: after a restart the same key
// signs for the token loaded from disk. The stored record holds the key
// only in the identity bucket.
func TestDPoPKeySurvivesRestart(t *testing.T) {
	store := storage.NewMem()
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto, func(c *broker.Config) { c.Store = store })
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := broker.New(bd.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := b2.Identity().DPoPThumbprint, bd.b.Identity().DPoPThumbprint; got != want {
		t.Fatalf("thumbprint after restart %q, want %q", got, want)
	}
	again, err := b2.Token(t.Context(), broker.TokenRequest{ServerURL: bd.tb.MCP.URL()})
	if err != nil || again.Source != broker.SourceDisk || again.JKT != tok.JKT {
		t.Fatalf("after restart: %+v, %v; want the stored DPoP token", again, err)
	}
	bd.b = b2
	if st, _ := mcpStatus(t, bd, "DPoP", again.AccessToken, proofFor(t, bd, again, "")); st != http.StatusOK {
		t.Errorf("the restarted broker's proof: %d", st)
	}
	toks, _ := store.List("tokens")
	for _, v := range toks {
		if strings.Contains(string(v), `"d":`) {
			t.Error("a token record holds private key material")
		}
	}
}

// Proofs are signed only for the server's origin, for a DPoP token xaad
// holds for it.
func TestDPoPProofRefusals(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	mcp := bd.tb.MCP.URL()
	for name, c := range map[string]struct {
		req  broker.ProofRequest
		want broker.Reason
	}{
		"another origin":  {broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: "POST", URL: bd.tb.AS.TokenEndpoint() + "x"}, broker.ReasonInvalidArgument},
		"another scheme":  {broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: "POST", URL: strings.Replace(mcp, "http:", "https:", 1)}, broker.ReasonInvalidArgument},
		"unknown token":   {broker.ProofRequest{ServerURL: mcp, AccessToken: "not-ours", Method: "POST", URL: mcp}, broker.ReasonInvalidArgument},
		"unknown server":  {broker.ProofRequest{ServerURL: mcp + "/other", AccessToken: tok.AccessToken, Method: "POST", URL: mcp + "/other"}, broker.ReasonNotFound},
		"not a method":    {broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: "PO ST", URL: mcp}, broker.ReasonInvalidArgument},
		"userinfo in URL": {broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: "POST", URL: strings.Replace(mcp, "://", "://u:p@", 1)}, broker.ReasonInvalidArgument},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := bd.b.Proof(c.req)
			wantReason(t, err, c.want)
		})
	}
	// A query and a fragment are the request's; htu leaves them out.
	p, err := bd.b.Proof(broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: "POST", URL: mcp + "?x=1#f"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := mcpStatus(t, bd, "DPoP", tok.AccessToken, p); st != http.StatusOK {
		t.Errorf("a proof for the URL with a query: %d", st)
	}
	// A bearer token needs no proof and gets none.
	bearer := newBed(t, bedOpts{})
	bt, err := bearer.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bearer.b.Proof(broker.ProofRequest{ServerURL: bearer.tb.MCP.URL(), AccessToken: bt.AccessToken, Method: "POST", URL: bearer.tb.MCP.URL()})
	wantReason(t, err, broker.ReasonInvalidArgument)
}

// A token a refresh replaced still gets proofs while it is valid: a client
// that fetched it just before keeps working.
func TestDPoPReplacedTokenStillSigned(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
	old, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bd.token(t, broker.TokenRequest{Force: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := mcpStatus(t, bd, "DPoP", old.AccessToken, proofFor(t, bd, old, "")); st != http.StatusOK {
		t.Errorf("the replaced token with a proof: %d", st)
	}
}

// Under required an ID-JAG is not handed out: it would buy a bearer token.
func TestDPoPRequiredRefusesAssertions(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPRequired)
	_, err := bd.b.Assertion(t.Context(), broker.AssertionRequest{ServerURL: bd.tb.MCP.URL()})
	wantReason(t, err, broker.ReasonConfig)
	bd = dpopBed(t, testbed.DPoPOptions{}, broker.DPoPAuto)
	a, err := bd.b.Assertion(t.Context(), broker.AssertionRequest{ServerURL: bd.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := bd.tb.LastRequest(testbed.EndpointIdPToken); rec.Header.Get("DPoP") != "" || a.Assertion == "" {
		t.Error("an ID-JAG for a caller without xaad's key was bound to it")
	}
}

// A reload that makes a server required stops serving its cached bearer
// token; one that turns DPoP off stops serving a bound one.
func TestDPoPPolicyReload(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{}, broker.DPoPOff)
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil || tok.Type != "Bearer" {
		t.Fatalf("under off: %v, %v", tok, err)
	}
	cfg := bd.cfg
	cfg.AuthServerDPoP = map[string]broker.DPoPPolicy{bd.tb.AS.Issuer(): broker.DPoPAuto}
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if again, err := bd.token(t, broker.TokenRequest{}); err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("under auto the bearer token is still good: %v, %v", again, err)
	}
	cfg.AuthServerDPoP[bd.tb.AS.Issuer()] = broker.DPoPRequired
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	bound, err := bd.token(t, broker.TokenRequest{})
	if err != nil || bound.Type != "DPoP" || bound.Source != broker.SourceNetwork {
		t.Fatalf("under required: %v, %v; want a new DPoP token", bound, err)
	}
	cfg.AuthServerDPoP = map[string]broker.DPoPPolicy{bd.tb.AS.Issuer(): broker.DPoPOff}
	if err := bd.b.Reconfigure(cfg); err != nil {
		t.Fatal(err)
	}
	if off, err := bd.token(t, broker.TokenRequest{}); err != nil || off.Type != "Bearer" {
		t.Fatalf("under off again: %v, %v; want a bearer token", off, err)
	}
	cfg.AuthServerDPoP[bd.tb.AS.Issuer()] = "sometimes"
	if err := bd.b.Reconfigure(cfg); err == nil {
		t.Error("an unknown policy was accepted")
	}
}

// The key's algorithm comes from what the servers advertise, at sign-in:
// an AS that takes only PS256 gets bearer tokens (auto) or an error
// naming the fix (required) until a new sign-in, whose key is PS256.
func TestDPoPAlgorithmChosenAtSignIn(t *testing.T) {
	bd := dpopBed(t, testbed.DPoPOptions{Algorithms: []string{"PS256"}}, broker.DPoPRequired)
	if alg := bd.b.Identity().DPoPAlgorithm; alg != "ES256" {
		t.Fatalf("first key %s: nothing known yet, want ES256", alg)
	}
	_, err := bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonConfig)
	if !strings.Contains(err.Error(), "xaactl login") || !strings.Contains(err.Error(), "PS256") {
		t.Errorf("error %q does not say what to do", err)
	}
	bd.signIn(t)
	if alg := bd.b.Identity().DPoPAlgorithm; alg != "PS256" {
		t.Fatalf("key after the AS was discovered: %s, want PS256", alg)
	}
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil || tok.Type != "DPoP" {
		t.Fatalf("with a PS256 key: %v, %v", tok, err)
	}
}

// mcpDo sends method to url with the DPoP token and proof; the status is
// what the MCP server's DPoP check answered (401 when it refused).
func mcpDo(t *testing.T, method, url, tok, proof string) int {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Each rule of RFC 9449 §4.2 the signer must get right, against the
// testbed's verifier: a proof of the broker's is accepted for the request
// it was made for (htm the method, htu without query and fragment, ath of
// the token, iat from the broker's clock, a fresh jti), and the same proof
// is refused for any other request.
func TestDPoPProofRules(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	bd := newBed(t, bedOpts{clock: clk, tb: testbed.Options{DPoP: testbed.DPoPOptions{Enabled: true, RequireProof: true}}})
	tok, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	mcp := bd.tb.MCP.URL()
	sign := func(tok *broker.Token, method, url string) string {
		t.Helper()
		p, err := bd.b.Proof(broker.ProofRequest{ServerURL: mcp, AccessToken: tok.AccessToken, Method: method, URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	withQuery := mcp + "?session=1#top"
	for _, c := range []struct{ rule, method, url string }{
		{"htm POST", http.MethodPost, mcp},
		{"htm GET", http.MethodGet, mcp},
		{"htm DELETE", http.MethodDelete, mcp},
		{"htu without query and fragment", http.MethodPost, withQuery},
	} {
		if st := mcpDo(t, c.method, c.url, tok.AccessToken, sign(tok, c.method, c.url)); st == http.StatusUnauthorized {
			t.Errorf("%s: the broker's proof was refused", c.rule)
		}
	}
	if st := mcpDo(t, http.MethodGet, mcp, tok.AccessToken, sign(tok, http.MethodPost, mcp)); st != http.StatusUnauthorized {
		t.Errorf("a POST proof sent with a GET: %d, want 401", st)
	}
	// iat comes from the broker's clock, which is hours away from the
	// wall time and moves with the server's: a proof stamped with the wall
	// time would be refused, now and fifty minutes on.
	clk.Advance(50 * time.Minute)
	late := sign(tok, http.MethodPost, mcp)
	if st := mcpDo(t, http.MethodPost, mcp, tok.AccessToken, late); st == http.StatusUnauthorized {
		t.Error("iat: a proof made on the broker's clock was refused")
	}
	// jti: the same proof twice is a replay.
	if st := mcpDo(t, http.MethodPost, mcp, tok.AccessToken, late); st != http.StatusUnauthorized {
		t.Errorf("the same proof again: %d, want 401", st)
	}
	// ath: a proof for the token a refresh replaced does not go with the new one.
	fresh, err := bd.token(t, broker.TokenRequest{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := mcpDo(t, http.MethodPost, mcp, fresh.AccessToken, sign(tok, http.MethodPost, mcp)); st != http.StatusUnauthorized {
		t.Errorf("a proof for the old token with the new one: %d, want 401", st)
	}
	if c := bd.tb.DPoPCounters()[testbed.EndpointMCP]; c.Accepted != 5 || c.Rejected != 3 {
		t.Errorf("MCP verifier: %+v; want the broker's 5 proofs accepted and the 3 misused ones refused", c)
	}
}
