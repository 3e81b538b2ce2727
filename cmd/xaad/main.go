// Command xaad is the enterprise MCP credential daemon. See `xaad help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xaad-dev/xaad/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `xaad: the enterprise MCP credential daemon

Usage:
  xaad run [flags]            run the daemon (what the systemd unit starts)
  xaad check-config [FILE]    validate a configuration file and explain every problem
  xaad demo [--serve]         run the whole flow against the built-in testbed
  xaad rekey                  re-seal the database under a new key (daemon stopped)
  xaad version                print the version

Run 'xaad COMMAND --help' for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "rekey":
		return cmdRekey(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "xaad", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "xaad: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("xaad run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o daemon.Options
	fs.StringVar(&o.ConfigPath, "config", "", "configuration file (default $XDG_CONFIG_HOME/xaad/config.toml)")
	fs.StringVar(&o.SocketPath, "socket", "", "Unix socket to serve (default $XDG_RUNTIME_DIR/xaad/xaad.sock; ignored when systemd passes one)")
	fs.StringVar(&o.StateDir, "state-dir", "", "folder of the database (default $XDG_STATE_HOME/xaad)")
	fs.StringVar(&o.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	allowRoot := fs.Bool("allow-root", false, "run even as root (containers, CI); xaad refuses root otherwise")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: xaad run [flags]\n\nRuns the daemon in the foreground until SIGTERM or SIGINT. Under systemd, the\nxaad.socket unit starts it on the first connection.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xaad run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o.Version = version
	if err := harden(os.Geteuid(), *allowRoot); err != nil {
		fmt.Fprintln(stderr, "xaad:", err)
		return 1
	}
	if err := daemon.Run(ctx, o); err != nil {
		fmt.Fprintln(stderr, "xaad:", err)
		return 1
	}
	return 0
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xaad check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: xaad check-config [FILE]\n\nValidates FILE (default $XDG_CONFIG_HOME/xaad/config.toml) and lists every problem found:\nunknown keys, missing or malformed values, unreadable or world-readable secret files.\nExit status 0 when the file is valid, 1 otherwise.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	path := fs.Arg(0)
	if path == "" {
		path = daemon.DefaultConfigPath()
	}
	if _, err := daemon.LoadConfig(path); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK\n", path)
	return 0
}
