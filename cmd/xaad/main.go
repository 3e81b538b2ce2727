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

	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usage is what `xaad help` prints (package cmdline lists the commands).
var usage = cmdline.Usage()

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
	case "fleet-sim":
		return cmdFleetSim(args[1:], stdout, stderr)
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
	fs, ro := cmdline.RunFlags(stderr)
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
	o := daemon.Options{ConfigPath: ro.ConfigPath, SocketPath: ro.SocketPath, StateDir: ro.StateDir, LogLevel: ro.LogLevel, Version: version}
	if err := harden(os.Geteuid(), ro.AllowRoot); err != nil {
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
	fs := cmdline.CheckConfigFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	path := fs.Arg(0)
	if path == "" {
		// The file `xaad run` would read.
		var err error
		if path, err = daemon.ConfigToRead(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if _, err := daemon.LoadConfig(path); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK\n", path)
	return 0
}
