// Package cli implements xaactl: parse the command line (pure functions),
// call the daemon through package client, render the answer (pure
// functions). It imports client and the generated API only, never the
// daemon, broker or storage code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/client"
)

// dialTimeout bounds the wait for the daemon; with socket activation the
// first connection also waits for the daemon to start.
const dialTimeout = 10 * time.Second

// env is what a command runs with.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	socket         string // empty: client.DefaultSocketPath()
	// openURL opens a browser; nil means xdg-open (login_flow.go).
	openURL func(string) error
}

// connect dials the daemon.
func (e *env) connect(ctx context.Context) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return client.Dial(ctx, e.socketPath())
}

// withDaemon is the start of every command that talks to the daemon:
// parse the arguments (a usage error or --help reaches Main before any
// dial), connect, and run with the connection, which it closes after.
func withDaemon[O any](ctx context.Context, e *env, args []string, parse func([]string) (O, error), run func(*client.Client, O) error) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	c, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return run(c, o)
}

// socketPath is --socket, or the default.
func (e *env) socketPath() string {
	if e.socket != "" {
		return e.socket
	}
	return client.DefaultSocketPath()
}

// command is one xaactl sub-command.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"token", "print an access token for an MCP server", runToken},
		{"status", "show the sign-in and every server", runStatus},
		{"server", "add, list or remove MCP servers (server add|ls|rm)", runServer},
		{"login", "sign in to your identity provider (browser, --device, or import)", runLogin},
		{"logout", "sign out: revoke and forget the sign-in and every token", runLogout},
		{"probe", "open an MCP session with a token and list the tools", runProbe},
		{"audit", "show who got tokens for which server (the daemon's audit log)", runAudit},
		{"proxy", "serve a remote MCP server to a local client over stdio", runProxy},
	}
}

// Main runs xaactl with args (without the program name) and returns the exit
// code. Data goes to stdout, diagnostics to stderr.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args)
	var he *helpError
	if errors.As(err, &he) {
		printHelp(stdout, he.fs, he.text)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "xaactl: %v\n", err)
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, `Run "xaactl help" for usage.`)
		}
	}
	return exitCode(err)
}

func dispatch(ctx context.Context, e *env, args []string) error {
	fs := globalFlags(e)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpError{text: mainHelp()}
		}
		return usagef(err.Error())
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("no command given")
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		return help(ctx, e, rest)
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	return usagef(fmt.Sprintf("unknown command %q", name))
}

// globalFlags returns the flags given before the command (docs.go documents
// them from here).
func globalFlags(e *env) *flag.FlagSet {
	fs := newFlagSet("xaactl")
	fs.StringVar(&e.socket, "socket", "", "`PATH` of the daemon's socket (default $XAAD_SOCKET, else $XDG_RUNTIME_DIR/xaad/xaad.sock, else /run/user/UID/xaad/xaad.sock)")
	return fs
}

// help serves `xaactl help [command]` by running the command with --help.
func help(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return &helpError{text: mainHelp()}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			// With --help no command reaches the daemon.
			return c.run(ctx, e, append(args[1:], "--help"))
		}
	}
	return usagef(fmt.Sprintf("unknown command %q", args[0]))
}

func mainHelp() string {
	var b strings.Builder
	b.WriteString(`xaactl talks to the xaad daemon, which holds your enterprise sign-in and
hands out access tokens for remote MCP servers.

Usage:
  xaactl [--socket PATH] <command> [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`  help     show help for a command

Global flags:
  --socket PATH
        the daemon's socket (default $XAAD_SOCKET, else
        $XDG_RUNTIME_DIR/xaad/xaad.sock, else /run/user/UID/xaad/xaad.sock)

Run "xaactl <command> --help" for details and examples.

Example:
  xaactl token https://mcp.tools.example/mcp

`)
	b.WriteString(exitCodesHelp)
	return b.String()
}
