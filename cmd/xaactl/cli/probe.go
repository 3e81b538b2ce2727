package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
)

const probeHelp = `Usage: xaactl probe URL [--scope S ...]

Check that a remote MCP server works end to end with the daemon's tokens:
get a token, open an MCP session over Streamable HTTP with it (refreshing
once if the server answers 401), list the server's tools, and close the
session. The tools go to stdout, progress to stderr.

Example:
  xaactl probe https://mcp.tools.example/mcp
`

// probeTimeout bounds the MCP part of a probe, so an unresponsive server
// gives an error rather than a hang.
const probeTimeout = 30 * time.Second

type probeOpts struct {
	url    string
	scopes []string
}

func parseProbe(args []string) (probeOpts, error) {
	fs := newFlagSet("probe")
	var scopes stringList
	fs.Var(&scopes, "scope", "a `scope` to request (repeatable; default: the server's)")
	pos, err := parse(fs, args, probeHelp)
	if err != nil {
		return probeOpts{}, err
	}
	if err := wantArgs(pos, "URL"); err != nil {
		return probeOpts{}, err
	}
	return probeOpts{url: pos[0], scopes: scopes}, nil
}

func runProbe(ctx context.Context, e *env, args []string) error {
	return withDaemon(ctx, e, args, parseProbe, func(c *client.Client, o probeOpts) error {

		// A token first, so sign-in and policy problems are reported as such
		// rather than as an MCP connection failure.
		tok, err := c.GetToken(ctx, client.TokenRequest{Resource: o.url, Scopes: o.scopes})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "token: %s, expires %s, authorization server %s\n",
			tok.Type(), relTime(timestamp(tok.Expiry), time.Now()), orDash(tok.AuthorizationServer))

		tools, err := listTools(ctx, c, o)
		if err != nil {
			return fmt.Errorf("probe %s: %w", o.url, err)
		}
		return renderTools(e.stdout, tools)
	})
}

// listTools opens an MCP session authorised by the daemon and lists every
// tool.
func listTools(ctx context.Context, c *client.Client, o probeOpts) ([]*mcp.Tool, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	transport := &mcp.StreamableClientTransport{
		Endpoint: o.url,
		HTTPClient: &http.Client{Transport: &client.Transport{
			Source: c, Resource: o.url, Scopes: o.scopes,
		}},
		// A probe makes one request and leaves; it needs no stream for
		// server-initiated messages.
		DisableStandaloneSSE: true,
	}
	mc := mcp.NewClient(&mcp.Implementation{Name: "xaactl", Version: "probe"}, nil)
	session, err := mc.Connect(ctx, transport, nil)
	if err != nil {
		return nil, fmt.Errorf("open MCP session: %w", err)
	}
	var tools []*mcp.Tool
	for tool, err := range session.Tools(ctx, nil) {
		if err != nil {
			session.Close()
			return nil, fmt.Errorf("list tools: %w", err)
		}
		tools = append(tools, tool)
	}
	if err := session.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("close MCP session: %w", err)
	}
	return tools, nil
}

// renderTools writes the tool list: a count, then each name with its
// description shortened to one line.
func renderTools(w io.Writer, tools []*mcp.Tool) error {
	fmt.Fprintf(w, "%d tools\n", len(tools))
	if len(tools) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range tools {
		fmt.Fprintf(tw, "  %s\t%s\n", t.Name, orDash(oneLine(t.Description, 70)))
	}
	return tw.Flush()
}
