package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/xaad-dev/xaad/client"
)

const tokenHelp = `Usage: xaactl token URL [--scope S ...] [--min-valid D] [--force] [--format raw|json|header|headers-json]

Print an access token for the MCP server at URL. The daemon serves it from
its cache when it can, so this is fast enough to run before every request
(for example as an MCP client's header helper).

Formats:
  raw     the token and a newline (default)
  json    {access_token, token_type, expires_at, scopes, resource,
           authorization_server, stale}
  header  "Authorization: Bearer <token>"
  headers-json
          {"Authorization":"Bearer <token>"} and nothing else: the JSON
          object of HTTP headers that header-helper hooks expect (Claude
          Code's headersHelper, for one)

Examples:
  xaactl token https://mcp.tools.example/mcp
  curl -H "$(xaactl token --format header https://mcp.tools.example/mcp)" https://mcp.tools.example/mcp
  xaactl token https://mcp.tools.example/mcp --scope repo.read --min-valid 10m --format json
  xaactl token https://mcp.tools.example/mcp --format headers-json

On failure nothing is printed on standard output, a message for a person
goes to standard error, and the exit code says what to do (below). A
server whose tokens are DPoP-bound (sender-constrained) needs a new proof
on every request, which no printed token carries: for it this command
prints nothing and exits 7; use xaactl proxy.

` + exitCodesHelp

type tokenOpts struct {
	req    client.TokenRequest
	format string
}

func parseToken(args []string) (tokenOpts, error) {
	fs := newFlagSet("token")
	var o tokenOpts
	var scopes stringList
	fs.Var(&scopes, "scope", "a `scope` to request (repeatable; default: the server's)")
	fs.DurationVar(&o.req.MinValidFor, "min-valid", 0, "keep the token valid for at least this `duration` (e.g. 5m)")
	fs.BoolVar(&o.req.ForceRefresh, "force", false, "get a new token even if the cached one is valid")
	fs.StringVar(&o.format, "format", "raw", "output `format`: raw, json, header or headers-json")
	pos, err := parse(fs, args, tokenHelp)
	if err != nil {
		return o, err
	}
	if err := wantArgs(pos, "URL"); err != nil {
		return o, err
	}
	switch o.format {
	case "raw", "json", "header", "headers-json":
	default:
		return o, usagef(fmt.Sprintf("unknown --format %q (want raw, json, header or headers-json)", o.format))
	}
	if o.req.MinValidFor < 0 {
		return o, usagef("--min-valid must not be negative")
	}
	o.req.Resource = pos[0]
	o.req.Scopes = scopes
	return o, nil
}

func runToken(ctx context.Context, e *env, args []string) error {
	return withDaemon(ctx, e, args, parseToken, func(c *client.Client, o tokenOpts) error {
		tok, err := c.GetToken(ctx, o.req)
		if err != nil {
			return err
		}
		if tok.IsDPoP() {
			return &dpopBoundError{url: o.req.Resource}
		}
		if tok.Stale {
			// Still valid, but the user should know refreshes are failing.
			fmt.Fprintf(e.stderr, "xaactl: warning: serving a cached token; the last refresh failed: %s\n", tok.StaleReason)
		}
		return renderToken(e.stdout, tok, o.format)
	})
}

// tokenJSON is the `token --format json` document. Its keys are stable.
type tokenJSON struct {
	AccessToken         string   `json:"access_token"`
	TokenType           string   `json:"token_type"`
	ExpiresAt           string   `json:"expires_at"` // RFC 3339; "" when unknown
	Scopes              []string `json:"scopes"`
	Resource            string   `json:"resource"`
	AuthorizationServer string   `json:"authorization_server"`
	Stale               bool     `json:"stale"`
}

// renderToken writes tok in format (raw, json or header).
func renderToken(w io.Writer, tok *client.Token, format string) error {
	switch format {
	case "json":
		j := tokenJSON{
			AccessToken:         tok.AccessToken,
			TokenType:           tok.Type(),
			Scopes:              tok.Scopes,
			Resource:            tok.Resource,
			AuthorizationServer: tok.AuthorizationServer,
			Stale:               tok.Stale,
		}
		if j.Scopes == nil {
			j.Scopes = []string{} // [] rather than null
		}
		if !tok.Expiry.IsZero() {
			j.ExpiresAt = tok.Expiry.UTC().Format(time.RFC3339)
		}
		return writeJSON(w, j)
	case "header":
		_, err := fmt.Fprintf(w, "Authorization: %s %s\n", tok.Type(), tok.AccessToken)
		return err
	case "headers-json":
		return renderHeadersJSON(w, tok)
	default:
		_, err := fmt.Fprintln(w, tok.AccessToken)
		return err
	}
}
