// Command xaad-conformance-client is the MCP client that the official
// conformance suite (@modelcontextprotocol/conformance) starts for the
// transport scenarios (initialize, tools_call, request-metadata, sse-retry,
// http-standard-headers, ...). It is a go-sdk mcp.Client that reaches the
// scenario's server only through `xaactl proxy`: it launches the proxy as a
// local stdio MCP server, so what the suite judges is the bridge's HTTP.
// scripts/conformance-client.sh starts the xaad daemon the proxy talks to
// and then this program; docs/conformance.md lists what each scenario does.
//
// Usage: xaad-conformance-client --xaactl PATH [--socket SOCK] URL
//
// The suite appends URL and sets MCP_CONFORMANCE_SCENARIO,
// MCP_CONFORMANCE_PROTOCOL_VERSION and, for some scenarios,
// MCP_CONFORMANCE_CONTEXT. The exit status is 0 when the scenario's steps
// all succeeded, 1 when one failed (the error goes to stderr), 2 on misuse.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runTimeout stays under the suite's own 30 s per scenario, so a hang
// ends here with an error that says which step hung.
const runTimeout = 25 * time.Second

func main() {
	fs := flag.NewFlagSet("xaad-conformance-client", flag.ContinueOnError)
	xaactl := fs.String("xaactl", "xaactl", "the xaactl `binary` to launch as the stdio server")
	socket := fs.String("socket", "", "the xaad daemon's `socket` (passed to xaactl --socket)")
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: xaad-conformance-client --xaactl PATH [--socket SOCK] URL")
		os.Exit(2)
	}
	sc := scenario{
		name:     os.Getenv("MCP_CONFORMANCE_SCENARIO"),
		version:  os.Getenv("MCP_CONFORMANCE_PROTOCOL_VERSION"),
		context:  os.Getenv("MCP_CONFORMANCE_CONTEXT"),
		endpoint: fs.Arg(0),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	if err := run(ctx, sc, proxyCommand(*xaactl, *socket, sc.endpoint)); err != nil {
		fmt.Fprintf(os.Stderr, "xaad-conformance-client: scenario %s: %v\n", sc.name, err)
		os.Exit(1)
	}
}

// proxyCommand is the stdio server the client launches: xaactl proxy for
// the scenario's URL, its diagnostics on our stderr (which the suite keeps).
func proxyCommand(xaactl, socket, endpoint string) *exec.Cmd {
	var args []string
	if socket != "" {
		args = append(args, "--socket", socket)
	}
	args = append(args, "proxy", "--verbose", endpoint)
	cmd := exec.Command(xaactl, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// run connects through the proxy and plays the scenario.
func run(ctx context.Context, sc scenario, proxy *exec.Cmd) error {
	steps, err := sc.steps()
	if err != nil {
		return err
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "xaad-conformance-client", Version: "1.0.0"}, sc.clientOptions())
	opts := &mcp.ClientSessionOptions{ProtocolVersion: sc.version}
	cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: proxy, TerminateDuration: 2 * time.Second}, opts)
	if err != nil {
		return fmt.Errorf("connect through xaactl proxy: %w", err)
	}
	defer cs.Close()
	for _, step := range steps {
		if err := step(ctx, cs); err != nil {
			return err
		}
	}
	return cs.Close()
}
