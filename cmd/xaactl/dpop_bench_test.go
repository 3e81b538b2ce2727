package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// BenchmarkDPoPProof measures what a signed proof per request costs, as a
// ratio to the same requests with a bearer token, in one run: two
// testbeds and daemons, one with bearer tokens and one under dpop =
// "required" (the MCP server verifies a proof on every request), each with
// a session through client.Transport and one through the built `xaactl
// proxy`. Each iteration makes the same echo tools/call on all four,
// interleaved, so all see the same machine load. Every DPoP request costs
// one proof signed by the daemon (with the token on a GetToken, or by
// SignProof when the proxy's cache holds the token) and one verified by
// the server. Metrics are medians: *-p50-µs per path, the dpop/bearer
// ratios, and dpop-overhead-*-p50-µs, the median of the per-iteration
// differences between the DPoP and the bearer request on the same path.
// See docs/benchmarks.md, "DPoP".
func BenchmarkDPoPProof(b *testing.B) {
	bearerEnv := startEnv(b, testdaemon.Options{})
	dpopEnv := startEnv(b, testdaemon.Options{DPoP: "required", Testbed: testbed.Options{DPoP: testbed.DPoPOptions{Enabled: true, RequireProof: true}}})
	sessions := map[string]*mcp.ClientSession{}
	for name, env := range map[string]*testdaemon.Env{"bearer": bearerEnv, "dpop": dpopEnv} {
		sessions["transport-"+name] = directSession(b, env)
		sessions["bridge-"+name], _, _ = proxySession(b, env, "2025-11-25")
	}
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "bench"}}
	call := func(cs *mcp.ClientSession) time.Duration {
		t0 := time.Now()
		if _, err := cs.CallTool(ctx, params); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	paths := []string{"transport-bearer", "transport-dpop", "bridge-bearer", "bridge-dpop"}
	for _, p := range paths {
		call(sessions[p]) // warm: connections, cached tokens, first proofs
	}
	took := map[string][]time.Duration{}
	for b.Loop() {
		for _, p := range paths {
			took[p] = append(took[p], call(sessions[p]))
		}
	}
	if c := dpopEnv.TB.DPoPCounters()[testbed.EndpointMCP]; c.Rejected != 0 {
		b.Fatalf("the MCP server refused %d proofs", c.Rejected)
	}
	for _, via := range []string{"transport", "bridge"} {
		bearer, dpop := took[via+"-bearer"], took[via+"-dpop"]
		var diff []time.Duration
		for i := range dpop {
			diff = append(diff, dpop[i]-bearer[i])
		}
		b.ReportMetric(micros(median(bearer)), via+"-bearer-p50-µs")
		b.ReportMetric(micros(median(dpop)), via+"-dpop-p50-µs")
		b.ReportMetric(float64(median(dpop))/float64(median(bearer)), via+"-dpop/bearer")
		b.ReportMetric(micros(median(diff)), "dpop-overhead-"+via+"-p50-µs")
	}
}

// directSession is a go-sdk session to env's MCP server over
// client.Transport, which asks the daemon for the token (and a DPoP
// token's proof) on every request.
func directSession(b *testing.B, env *testdaemon.Env) *mcp.ClientSession {
	b.Helper()
	c, err := client.Dial(context.Background(), env.Socket)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	hc := &http.Client{Transport: &client.Transport{Source: c, Resource: env.TB.MCP.URL()}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: env.TB.MCP.URL(), HTTPClient: hc}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}
