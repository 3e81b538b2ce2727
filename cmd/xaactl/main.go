// Command xaactl is the command-line client of the xaad daemon: it prints
// access tokens for MCP servers, shows the daemon's status, manages servers
// and imports a sign-in. Run `xaactl help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/xaad-dev/xaad/cmd/xaactl/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
