package daemon_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/xaad-dev/xaad/daemon"
)

// Health knows every configured server once New returns, before Run
// sends READY=1: a client that Checks a server the moment the daemon is
// ready gets its status, not NOT_FOUND.
func TestHealthKnowsServersBeforeReady(t *testing.T) {
	const url = "https://mcp.example/mcp" // not fetched: nothing runs yet
	e := newEnv(t, fmt.Sprintf("[[server]]\nurl = %q\n", url))
	d, err := daemon.New(daemon.Options{Config: e.cfg, SocketPath: e.sock, StateDir: e.state, Logger: daemon.NewLogger(io.Discard, "debug")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if st, ok := d.HealthForTest(url); !ok {
		t.Fatalf("no health status for the configured server %s before Run", url)
	} else {
		t.Logf("%s: %v", url, st)
	}
}
