package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// The daemon restarts under a running proxy: the request that needs the
// daemon while it is down fails with words that say how to start it, and
// the first one after the restart succeeds. Each request here needs the
// daemon: an injected 401 makes the proxy ask for a fresh token, which no
// cache can answer. (Before, the proxy's gRPC connection waited out a
// reconnect backoff that grows to minutes, failing requests long after the
// daemon was back.)
func TestProxySurvivesDaemonRestart(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, _ := proxySession(t, env, "2025-11-25")
	openStandaloneStream(t, cs, rec)
	echo := func() (string, error) {
		env.TB.QueueFault(testbed.EndpointMCP, 1, testbed.Fault{Status: http.StatusUnauthorized})
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		if err != nil {
			return "", err
		}
		return res.Content[0].(*mcp.TextContent).Text, nil
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err := echo()
	if err == nil {
		t.Fatal("a request that needs the stopped daemon succeeded")
	}
	for _, want := range []string{"xaactl proxy", "not reachable", "xaad run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := echo(); err != nil || got != "hi" {
		t.Errorf("first request after the daemon restart: %q, %v", got, err)
	}
}

// The daemon is not running when the client starts the proxy: initialize
// gets a JSON-RPC error saying how to start the daemon, and once it runs,
// the next initialize succeeds, without restarting the proxy.
func TestProxyDaemonDownAtStart(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	p := startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
	r, line := p.call(t, "1", "initialize", initParams("2025-11-25"))
	if r["error"] == nil {
		t.Fatalf("initialize without a daemon answered %s", line)
	}
	mustContain(t, "error", r.errorMessage(), "xaactl proxy", "not reachable", env.Socket, "systemctl --user start xaad.socket")
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	if r, line := p.call(t, "2", "initialize", initParams("2025-11-25")); r["result"] == nil {
		t.Errorf("initialize once the daemon runs answered %s", line)
	}
}
