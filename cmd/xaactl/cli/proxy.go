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

const proxyHelp = `Usage: xaactl proxy URL [--scope S ...] [--verbose]

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

Standard output carries only MCP messages; diagnostics go to standard error.
Closing standard input ends the session (the remote session is deleted).

Examples:
  xaactl proxy https://mcp.tools.example/mcp
  claude mcp add tools -- xaactl proxy https://mcp.tools.example/mcp
`

type proxyOpts struct {
	url     string
	scopes  []string
	verbose bool
}

func parseProxy(args []string) (proxyOpts, error) {
	fs := newFlagSet("proxy")
	var o proxyOpts
	var scopes stringList
	fs.Var(&scopes, "scope", "a `scope` to request (repeatable; default: the server's)")
	fs.BoolVar(&o.verbose, "verbose", false, "log each session step to standard error")
	pos, err := parse(fs, args, proxyHelp)
	if err != nil {
		return o, err
	}
	if err := wantArgs(pos, "URL"); err != nil {
		return o, err
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

	c, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// A token first, so that "sign in first" or "not allowed" is said
	// plainly, with its exit code, before the client sees anything.
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: o.url, Scopes: o.scopes}); err != nil {
		return err
	}
	log.Debug("relaying stdio to the MCP server")
	err = bridge.Run(ctx, bridge.Config{
		Endpoint: o.url, Tokens: c, Scopes: o.scopes,
		Stdin: e.stdin, Stdout: e.stdout, Log: log,
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
