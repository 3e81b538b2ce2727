package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// BenchmarkStdioBridge measures what `xaactl proxy` adds to a request: each
// iteration makes the same echo tools/call once directly (go-sdk client,
// Streamable HTTP, client.Transport asking the daemon for the token) and
// once through the built xaactl binary as a stdio server (which asks the
// daemon the same way), interleaved so both see the same machine load. Both
// sessions talk to the same testbed MCP server and daemon. Metrics are
// medians: direct-p50-µs, bridge-p50-µs, and overhead-p50-µs, the median of
// the per-iteration differences. See docs/benchmarks.md, "Stdio bridge".
func BenchmarkStdioBridge(b *testing.B) {
	env := startEnv(b, testdaemon.Options{})
	ctx := context.Background()
	bridged, _, _ := proxySession(b, env, "2025-11-25")

	direct := directSession(b, env)

	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "bench"}}
	call := func(cs *mcp.ClientSession) time.Duration {
		t0 := time.Now()
		if _, err := cs.CallTool(ctx, params); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	call(direct) // warm both paths: connections, cached token
	call(bridged)
	var d, br, diff []time.Duration
	for b.Loop() {
		x, y := call(direct), call(bridged)
		d, br, diff = append(d, x), append(br, y), append(diff, y-x)
	}
	b.ReportMetric(micros(median(d)), "direct-p50-µs")
	b.ReportMetric(micros(median(br)), "bridge-p50-µs")
	b.ReportMetric(micros(median(diff)), "overhead-p50-µs")
}

func median(s []time.Duration) time.Duration {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
