package daemon_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// newDPoPEnv is a daemon for a testbed speaking DPoP with o; extra goes
// into the [[authorization_server]] section (e.g. `dpop = "required"`).
func newDPoPEnv(t *testing.T, o testbed.DPoPOptions, extra string) *env {
	t.Helper()
	o.Enabled = true
	return newEnvWith(t, testbed.Options{DPoP: o}, extra)
}

// mcpPost sends an initialize to the testbed MCP server with the token
// and proof.
func mcpPost(t *testing.T, e *env, scheme, tok, proof string) *http.Response {
	t.Helper()
	resp, err := e.tb.MCP.PostInitialize(t.Context(), scheme+" "+tok, proof)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The whole flow through the real daemon, with nonces required and
// rotating at the AS and at the MCP server: GetToken returns a DPoP-bound
// token with the first request's proof, SignProof signs the next ones,
// and each nonce the server hands out is taken up with one retry.
func TestDPoPThroughTheDaemon(t *testing.T) {
	e := newDPoPEnv(t, testbed.DPoPOptions{
		RequireProof: true, RotateNonceEvery: 2,
		RequireNonce: []testbed.Endpoint{testbed.EndpointASToken, testbed.EndpointMCP},
	}, `dpop = "required"`)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	mcp := e.tb.MCP.URL()

	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: mcp, DPoP: &client.DPoPRequest{Method: "POST", URL: mcp}})
	if err != nil {
		t.Fatal(err)
	}
	if !tok.IsDPoP() || tok.DPoPProof == "" {
		t.Fatalf("token %v with proof %t: want a DPoP token and its first proof", tok, tok.DPoPProof != "")
	}
	if c := e.tb.DPoPCounters()[testbed.EndpointASToken]; c.NonceChallenges != 1 || c.Accepted != 1 {
		t.Errorf("AS: %d nonce challenges, %d accepted; want 1 and 1", c.NonceChallenges, c.Accepted)
	}
	// The MCP server wants its nonce: the first proof has none.
	resp := mcpPost(t, e, "DPoP", tok.AccessToken, tok.DPoPProof)
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != http.StatusUnauthorized || nonce == "" || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") {
		t.Fatalf("first request: %d %q; want a use_dpop_nonce challenge", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	sign := func(nonce string) string {
		p, err := c.SignProof(ctx, client.SignProofRequest{Resource: mcp, AccessToken: tok.AccessToken, Request: client.DPoPRequest{Method: "POST", URL: mcp, Nonce: nonce}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := range 5 {
		resp = mcpPost(t, e, "DPoP", tok.AccessToken, sign(nonce))
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("DPoP-Nonce") != nonce {
			// Rotated under us: one retry with the new nonce.
			nonce = resp.Header.Get("DPoP-Nonce")
			resp = mcpPost(t, e, "DPoP", tok.AccessToken, sign(nonce))
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			nonce = n
		}
	}
	if c := e.tb.DPoPCounters()[testbed.EndpointMCP]; c.Accepted != 5 || c.Rejected != 0 {
		t.Errorf("MCP: %d accepted, %d rejected; want 5 and 0", c.Accepted, c.Rejected)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id := st.GetIdentity(); id.GetDpopJkt() == "" || id.GetDpopAlgorithm() != "ES256" {
		t.Errorf("identity %v: want the key's thumbprint and algorithm", id)
	}
	if s := st.GetServers()[0]; s.GetTokenType() != "DPoP" || s.GetDpop() != "required" {
		t.Errorf("server status token_type %q dpop %q", s.GetTokenType(), s.GetDpop())
	}
}

// With dpop = "required", a token copied out of a client's GetToken
// result is useless against the MCP server: as a bearer token, without a
// proof, with a proof of another key, or with a proof already used.
func TestDPoPCopiedTokenIsUseless(t *testing.T) {
	e := newDPoPEnv(t, testbed.DPoPOptions{RequireProof: true}, `dpop = "required"`)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	mcp := e.tb.MCP.URL()
	tok, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp, DPoP: &client.DPoPRequest{Method: "POST", URL: mcp}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := mcpPost(t, e, "DPoP", tok.AccessToken, tok.DPoPProof); resp.StatusCode != http.StatusOK {
		t.Fatalf("the client's own request: %d", resp.StatusCode)
	}
	thief, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := testbed.ForgeProof(thief, testbed.ForgeRequest{Method: "POST", URL: mcp, AccessToken: tok.AccessToken, IssuedAt: e.tb.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for name, try := range map[string][2]string{
		"as a bearer token":      {"Bearer", ""},
		"without a proof":        {"DPoP", ""},
		"with the thief's proof": {"DPoP", forged},
		"with a used proof":      {"DPoP", tok.DPoPProof},
	} {
		if resp := mcpPost(t, e, try[0], tok.AccessToken, try[1]); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

// An authorization server without DPoP: under auto GetToken returns a
// bearer token (and no proof); under required a clear error naming the
// setting.
func TestDPoPBearerOnlyServer(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	mcp := e.tb.MCP.URL()
	tok, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp, DPoP: &client.DPoPRequest{Method: "POST", URL: mcp}})
	if err != nil || tok.IsDPoP() || tok.DPoPProof != "" {
		t.Fatalf("under auto: %v (proof %t), %v; want a bearer token without a proof", tok, tok != nil && tok.DPoPProof != "", err)
	}

	e = newEnv(t, `dpop = "required"`)
	e.start(t)
	c = e.dial(t)
	e.login(t, c)
	_, err = c.GetToken(t.Context(), client.TokenRequest{Resource: e.tb.MCP.URL()})
	if client.ReasonOf(err) != xaadv1.Reason_REASON_CONFIG || !strings.Contains(err.Error(), `dpop = "required"`) {
		t.Errorf("under required: %v; want REASON_CONFIG naming the setting", err)
	}
}

// SignProof is under the caller policy like GetToken, refuses other
// origins, and each signing (refused or not) is in the audit log with the
// token's fingerprint and the origin, never the proof. The key is in no
// log line.
func TestDPoPSignProofPolicyAndAudit(t *testing.T) {
	e := newDPoPEnv(t, testbed.DPoPOptions{}, "")
	logs := &syncBuffer{}
	e.log = logs
	locked := "https://locked.example/mcp"
	e.cfg.Servers = append(e.cfg.Servers, daemon.ServerSection{URL: locked, AllowedClients: []string{"/nonexistent/client"}})
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	mcp := e.tb.MCP.URL()
	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: mcp})
	if err != nil || !tok.IsDPoP() {
		t.Fatalf("%v, %v", tok, err)
	}
	proof, err := c.SignProof(ctx, client.SignProofRequest{Resource: mcp, AccessToken: tok.AccessToken, Request: client.DPoPRequest{Method: "POST", URL: mcp + "/x?q=1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SignProof(ctx, client.SignProofRequest{Resource: locked, AccessToken: tok.AccessToken, Request: client.DPoPRequest{Method: "POST", URL: locked}})
	if status.Code(err) != codes.PermissionDenied || !client.IsPeerNotAllowed(err) {
		t.Errorf("signing for a server this caller may not use: %v", err)
	}
	_, err = c.SignProof(ctx, client.SignProofRequest{Resource: mcp, AccessToken: tok.AccessToken, Request: client.DPoPRequest{Method: "POST", URL: e.tb.AS.TokenEndpoint()}})
	if client.ReasonOf(err) != xaadv1.Reason_REASON_INVALID_ARGUMENT {
		t.Errorf("signing for another origin than the server's: %v", err)
	}
	stop()
	var signed []auditlog.Event
	for _, ev := range readAuditFile(t, filepath.Join(e.state, auditlog.File)) {
		if ev.Operation == "SignProof" {
			signed = append(signed, ev)
		}
	}
	origin := strings.TrimSuffix(mcp, "/mcp")
	if len(signed) != 3 || signed[0].Outcome != "ok" || signed[0].Target != origin || len(signed[0].TokenFP) != 8 {
		t.Fatalf("audit of the signings: %+v; want 3, the first ok for %s with a fingerprint", signed, origin)
	}
	if signed[1].Outcome != "denied" || signed[1].Target != "https://locked.example" {
		t.Errorf("audit of the refused signing: %+v", signed[1])
	}
	raw, err := os.ReadFile(filepath.Join(e.state, auditlog.File))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(proof)) || bytes.Contains(raw, []byte(tok.AccessToken)) {
		t.Error("the audit log holds a proof or a token")
	}
	if logs.count(`"d":`) != 0 || logs.count(tok.AccessToken) != 0 || logs.count("jti") != 0 {
		t.Error("the daemon log holds key material, a token or a proof")
	}
}

// The key is sealed in the real store with the identity: after a restart
// the daemon signs with the same key for the token it loaded from disk.
func TestDPoPKeySurvivesRestart(t *testing.T) {
	e := newDPoPEnv(t, testbed.DPoPOptions{RequireProof: true}, `dpop = "required"`)
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	mcp := e.tb.MCP.URL()
	if _, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	jkt := st.GetIdentity().GetDpopJkt()
	stop()
	db, err := os.ReadFile(filepath.Join(e.state, "xaad.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(`"crv"`)) || bytes.Contains(db, []byte(jkt)) {
		t.Fatal("the database file holds the key or its thumbprint in the clear")
	}

	e.start(t)
	c = e.dial(t)
	tok, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp, DPoP: &client.DPoPRequest{Method: "POST", URL: mcp}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != xaadv1.TokenSource_TOKEN_SOURCE_DISK || !tok.IsDPoP() {
		t.Fatalf("after the restart: %v; want the DPoP token from disk", tok)
	}
	if st, err := c.Status(t.Context()); err != nil || st.GetIdentity().GetDpopJkt() != jkt {
		t.Fatalf("thumbprint after the restart %q, before %q (%v)", st.GetIdentity().GetDpopJkt(), jkt, err)
	}
	if resp := mcpPost(t, e, "DPoP", tok.AccessToken, tok.DPoPProof); resp.StatusCode != http.StatusOK {
		t.Errorf("the restarted daemon's proof: %d", resp.StatusCode)
	}
}
