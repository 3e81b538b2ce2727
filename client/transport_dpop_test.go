package client_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// dpopEnv is a signed-in daemon for a testbed whose AS binds tokens and
// whose MCP server takes only DPoP, with a nonce that rotates every
// rotate proofs.
func dpopEnv(t *testing.T, rotate int) *testdaemon.Env {
	t.Helper()
	env, err := testdaemon.Start(testdaemon.Options{DPoP: "required", Testbed: testbed.Options{DPoP: testbed.DPoPOptions{
		Enabled: true, RequireProof: true, RotateNonceEvery: rotate,
		RequireNonce: []testbed.Endpoint{testbed.EndpointMCP},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

func session(t *testing.T, env *testdaemon.Env, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(t.Context(),
		&mcp.StreamableClientTransport{Endpoint: env.TB.MCP.URL(), HTTPClient: &http.Client{Transport: rt}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func echo(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || res.IsError {
		t.Fatalf("echo: %v %v", res, err)
	}
}

// A go-sdk session over Transport with a DPoP-bound token: every request
// carries a fresh proof, each nonce rotation costs one retry and no
// refresh, and no proof is ever refused.
func TestTransportDPoPSession(t *testing.T) {
	env := dpopEnv(t, 3)
	c, err := client.Dial(t.Context(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cs := session(t, env, &client.Transport{Source: c, Resource: env.TB.MCP.URL()})
	for range 10 {
		echo(t, cs)
	}
	got := env.TB.DPoPCounters()[testbed.EndpointMCP]
	if got.Rejected != 0 || got.Accepted < 11 {
		t.Errorf("MCP verifier: %+v; want every request's proof accepted", got)
	}
	// Rotating every 3 proofs, with the new nonce announced in each
	// answer: only the very first request lacks it.
	if got.NonceChallenges != 1 {
		t.Errorf("%d nonce challenges; want 1, the first request's", got.NonceChallenges)
	}
	if n := env.TB.JWTBearerGrants(); n != 1 {
		t.Errorf("%d access tokens issued: a nonce challenge must not force a refresh", n)
	}
}

// cachingSource hands out one token it fetched once, without its proof,
// as a program caching tokens would.
type cachingSource struct {
	inner client.TokenProvider
	mu    sync.Mutex
	tok   *client.Token
}

func (s *cachingSource) GetToken(ctx context.Context, req client.TokenRequest) (*client.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil || req.ForceRefresh {
		tok, err := s.inner.GetToken(ctx, req)
		if err != nil {
			return nil, err
		}
		c := *tok
		c.DPoPProof = "" // good once: never cached
		s.tok = &c
		return tok, nil
	}
	return s.tok, nil
}

// A Source that caches tokens: the proofs come from Signer, one per
// request, and a nonce rotation the server did not announce is taken up
// with one retry.
func TestTransportDPoPSigner(t *testing.T) {
	env := dpopEnv(t, 0)
	c, err := client.Dial(t.Context(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cs := session(t, env, &client.Transport{Source: &cachingSource{inner: c}, Signer: c, Resource: env.TB.MCP.URL()})
	echo(t, cs)
	env.TB.RotateDPoPNonce(testbed.EndpointMCP)
	echo(t, cs)
	echo(t, cs)
	got := env.TB.DPoPCounters()[testbed.EndpointMCP]
	if got.Rejected != 0 || got.NonceChallenges != 2 {
		t.Errorf("MCP verifier: %+v; want no refusal and 2 nonce challenges (the first request, the rotation)", got)
	}
	if n := env.TB.JWTBearerGrants(); n != 1 {
		t.Errorf("%d access tokens issued, want 1", n)
	}
}

// Without a Signer, a DPoP token without a proof fails clearly rather
// than going out as a bearer token.
func TestTransportDPoPNoSigner(t *testing.T) {
	env := dpopEnv(t, 0)
	c, err := client.Dial(t.Context(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src := &cachingSource{inner: c}
	if _, err := src.GetToken(t.Context(), client.TokenRequest{Resource: env.TB.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	before := env.TB.Requests(testbed.EndpointMCP) // discovery's probe
	hc := &http.Client{Transport: &client.Transport{Source: src, Resource: env.TB.MCP.URL()}}
	resp, err := hc.Post(env.TB.MCP.URL(), "application/json", nil)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a DPoP token went out without a proof")
	}
	if n := env.TB.Requests(testbed.EndpointMCP) - before; n != 0 {
		t.Errorf("%d requests reached the MCP server", n)
	}
}
