// Command xaad-testenv runs a testbed and a signed-in xaad daemon for tests
// that drive xaad from outside Go (scripts/ts-client-test.sh). It prints one
// JSON line on standard output,
//
//	{"socket":"/tmp/xtd.../s","mcp_url":"http://127.0.0.1:PORT/mcp"}
//
// and runs until standard input closes or it gets SIGINT or SIGTERM, so a
// parent process that dies takes it down too. Everything here is local and
// throwaway; it is not for real use.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xaad-dev/xaad/internal/testdaemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "xaad-testenv:", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(map[string]string{"socket": env.Socket, "mcp_url": env.TB.MCP.URL()})
	fmt.Printf("%s\n", line)

	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	if err := env.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-testenv:", err)
		os.Exit(1)
	}
}
