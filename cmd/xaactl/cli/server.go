package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

const serverHelp = `Usage: xaactl server add URL [--scope S ...] [--keep-warm]
       xaactl server ls [--json]
       xaactl server rm URL

Manage the MCP servers the daemon keeps tokens for. Servers from the managed
config are listed with origin CONFIG and cannot be removed.

  add  register a server (or update its scopes and keep-warm)
  ls   list every server
  rm   forget a server you added, and its tokens

Examples:
  xaactl server add https://mcp.tools.example/mcp --scope repo.read --keep-warm
  xaactl server ls
  xaactl server rm https://mcp.tools.example/mcp
`

const serverAddHelp = `Usage: xaactl server add URL [--scope S ...] [--keep-warm]

Register the MCP server at URL. Adding a known URL updates its scopes and
keep-warm setting. With --keep-warm the daemon refreshes the token in the
background even when no client asked for it recently.

Example:
  xaactl server add https://mcp.tools.example/mcp --scope repo.read --keep-warm
`

const serverLsHelp = `Usage: xaactl server ls [--json]

List every server the daemon knows, with its state, scopes, keep-warm and
origin (CONFIG or USER). --json prints the ListServersResponse as stable JSON.

Example:
  xaactl server ls --json | jq -r '.servers[].url'
`

const serverRmHelp = `Usage: xaactl server rm URL

Forget a server you added, and its cached tokens.

Example:
  xaactl server rm https://mcp.tools.example/mcp
`

// serverOpts is a parsed `server` command line.
type serverOpts struct {
	verb   string // add, ls or rm
	server client.Server
	json   bool
}

func parseServer(args []string) (serverOpts, error) {
	var o serverOpts
	if len(args) == 0 {
		return o, usagef("missing server command (add, ls or rm)")
	}
	o.verb, args = args[0], args[1:]
	fs := newFlagSet("server " + o.verb)
	var pos []string
	var err error
	switch o.verb {
	case "add":
		var scopes stringList
		fs.Var(&scopes, "scope", "a `scope` to request (repeatable; default: the server's)")
		fs.BoolVar(&o.server.KeepWarm, "keep-warm", false, "refresh the token in the background even when idle")
		pos, err = parse(fs, args, serverAddHelp)
		o.server.Scopes = scopes
	case "ls":
		fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
		pos, err = parse(fs, args, serverLsHelp)
	case "rm":
		pos, err = parse(fs, args, serverRmHelp)
	case "-h", "-help", "--help", "help":
		return o, &helpError{fs: fs, text: serverHelp}
	default:
		return o, usagef(fmt.Sprintf("unknown server command %q (want add, ls or rm)", o.verb))
	}
	if err != nil {
		return o, err
	}
	if o.verb == "ls" {
		return o, wantArgs(pos)
	}
	if err := wantArgs(pos, "URL"); err != nil {
		return o, err
	}
	o.server.URL = pos[0]
	return o, nil
}

func runServer(ctx context.Context, e *env, args []string) error {
	return withDaemon(ctx, e, args, parseServer, func(c *client.Client, o serverOpts) error {
		switch o.verb {
		case "add":
			s, err := c.AddServer(ctx, o.server)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "added %s (%s)\n", s.GetUrl(), serverState(s.GetState()))
			return err
		case "rm":
			if err := c.RemoveServer(ctx, o.server.URL); err != nil {
				return err
			}
			_, err := fmt.Fprintf(e.stdout, "removed %s\n", o.server.URL)
			return err
		default:
			servers, err := c.ListServers(ctx)
			if err != nil {
				return err
			}
			if o.json {
				return writeProtoJSON(e.stdout, &xaadv1.ListServersResponse{Servers: servers})
			}
			return renderServers(e.stdout, servers)
		}
	})
}

// renderServers writes the `server ls` table.
func renderServers(w io.Writer, servers []*xaadv1.ServerStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tSCOPES\tKEEP WARM\tORIGIN\tAUTHORIZATION SERVER")
	for _, s := range servers {
		keepWarm := "no"
		if s.GetKeepWarm() {
			keepWarm = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			s.GetUrl(), serverState(s.GetState()), orDash(strings.Join(s.GetScopes(), " ")),
			keepWarm, enumName(s.GetOrigin().String(), "SERVER_ORIGIN_"), orDash(s.GetAuthorizationServer()))
	}
	return tw.Flush()
}
