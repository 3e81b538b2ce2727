package main

import (
	"testing"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// dpopDaemon is a signed-in daemon under dpop = "required" for a testbed
// that binds tokens, takes only DPoP at the MCP server and wants nonces at
// the AS and the MCP server, rotating after every rotate proofs.
func dpopDaemon(t testing.TB, rotate int) *testdaemon.Env {
	t.Helper()
	return startEnv(t, testdaemon.Options{DPoP: "required", Testbed: testbed.Options{DPoP: testbed.DPoPOptions{
		Enabled: true, RequireProof: true, RotateNonceEvery: rotate,
		RequireNonce: []testbed.Endpoint{testbed.EndpointASToken, testbed.EndpointMCP},
	}}})
}

// The real proxy relays a session whose token is DPoP-bound: each request
// carries a new proof the daemon signed, nonces rotating at the AS and at
// the MCP server are taken up (one retry each time the server was not
// heard announce it), and no proof is refused or token refreshed for it.
func TestProxyDPoP(t *testing.T) {
	for _, version := range []string{"", "2025-11-25"} {
		t.Run("version "+version, func(t *testing.T) {
			env := dpopDaemon(t, 4)
			cs, _, _ := proxySession(t, env, version)
			for i := range 8 {
				if got := callText(t, cs, "echo", map[string]any{"text": "dpop"}); got != "dpop" {
					t.Fatalf("call %d: %q", i, got)
				}
				if i == 4 {
					// A rotation nobody announced: the next request learns
					// of it from the server's challenge.
					env.TB.RotateDPoPNonce(testbed.EndpointMCP)
				}
			}
			c := env.TB.DPoPCounters()
			if mcp := c[testbed.EndpointMCP]; mcp.Rejected != 0 || mcp.Accepted < 9 || mcp.NonceChallenges < 2 {
				t.Errorf("MCP verifier: %+v; want every proof accepted and the rotation challenged", mcp)
			}
			if as := c[testbed.EndpointASToken]; as.NonceChallenges != 1 || as.Accepted != 1 {
				t.Errorf("AS verifier: %+v; want one nonce retry and one token", as)
			}
			if n := env.TB.JWTBearerGrants(); n != 1 {
				t.Errorf("%d access tokens issued: nonce challenges must not force refreshes", n)
			}
		})
	}
}
