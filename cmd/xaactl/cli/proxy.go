package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/cmd/xaactl/bridge"
)

const proxyHelp = `Usage: xaactl proxy URL [--scope S ...] [--max-message BYTES] [--verbose]

Serve the remote MCP server at URL to a local MCP client over stdio: every
JSON-RPC message the client writes to standard input goes to the server
(Streamable HTTP) with an access token from xaad, and everything the server
sends, including its own requests and notifications, comes back on standard
output. Use it as the "command" of any MCP client that launches local
servers; see docs/clients.md for ready-made snippets.

Tokens are refreshed as needed: on a 401 the daemon is asked for a fresh
token once, on a 403 insufficient_scope for one with the extra scopes, and
the request is retried, so the client never sees a token expire. The
client's initialize announces the extension
io.modelcontextprotocol/enterprise-managed-authorization.

The proxy starts even when it cannot get a token (signed out, daemon not
running, server not allowed): it answers initialize and every request with
a JSON-RPC error that says what is wrong and which command fixes it, and
serves normally as soon as that is fixed, without a restart. A failure of
the MCP server fails the request it hit, never the session; a session the
server ended is renewed with the client's own initialize.

A message larger than --max-message (default 4 MiB) fails its request, so
a misbehaving server cannot exhaust the proxy's memory.

Standard output carries only MCP messages; diagnostics go to standard error.
Closing standard input ends the session (the remote session is deleted).

Examples:
  xaactl proxy https://mcp.tools.example/mcp
  claude mcp add tools -- xaactl proxy https://mcp.tools.example/mcp
`

type proxyOpts struct {
	url        string
	scopes     []string
	maxMessage int
	verbose    bool
}

func parseProxy(args []string) (proxyOpts, error) {
	fs := newFlagSet("proxy")
	var o proxyOpts
	var scopes stringList
	fs.Var(&scopes, "scope", "a `scope` to request (repeatable; default: the server's)")
	fs.IntVar(&o.maxMessage, "max-message", bridge.DefaultMaxMessage, "the largest JSON-RPC message relayed, in `bytes`")
	fs.BoolVar(&o.verbose, "verbose", false, "log each session step to standard error")
	pos, err := parse(fs, args, proxyHelp)
	if err != nil {
		return o, err
	}
	if err := wantArgs(pos, "URL"); err != nil {
		return o, err
	}
	if o.maxMessage < 64<<10 {
		return o, usagef("--max-message must be at least 65536 bytes")
	}
	u, err := url.Parse(pos[0])
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return o, usagef(fmt.Sprintf("URL %q is not an http(s) URL", pos[0]))
	}
	o.url, o.scopes = pos[0], scopes
	return o, nil
}

func runProxy(ctx context.Context, e *env, args []string) error {
	o, err := parseProxy(args)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})).With("server", o.url)

	// No token check first: the client must get xaactl's words as a
	// JSON-RPC error, which an exit before initialize would lose (clients
	// show only "connection closed"), and the proxy must recover once the
	// daemon is up or the user signs in.
	c, err := client.New(e.socketPath())
	if err != nil {
		return err
	}
	defer c.Close()
	log.Debug("relaying stdio to the MCP server")
	err = bridge.Run(ctx, bridge.Config{
		Endpoint: o.url, Tokens: c, Scopes: o.scopes, MaxMessage: o.maxMessage,
		Stdin: e.stdin, Stdout: e.stdout, Log: log,
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
