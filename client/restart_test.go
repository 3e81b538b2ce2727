package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

func startDaemon(t *testing.T) *testdaemon.Env {
	t.Helper()
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("test environment: %v", err)
		}
	})
	return env
}

func restart(t *testing.T, env *testdaemon.Env, whileDown func()) {
	t.Helper()
	if err := env.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	whileDown()
	if err := env.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
}

// A Client dialled before a daemon restart serves the first call after it,
// with or without a deadline on the call, although calls failed while the
// daemon was away (which, with gRPC's default reconnect backoff, left the
// connection waiting a second or more before it would try again).
func TestClientSurvivesDaemonRestart(t *testing.T) {
	env := startDaemon(t)
	c, err := client.Dial(t.Context(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := client.TokenRequest{Resource: env.TB.MCP.URL()}
	if _, err := c.GetToken(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	for round, withDeadline := range []bool{false, true} {
		restart(t, env, func() {
			_, err := c.GetToken(t.Context(), req)
			if !client.IsUnreachable(err) || !strings.Contains(err.Error(), "xaad run") {
				t.Errorf("round %d: GetToken while the daemon is down: %v, want an UnreachableError saying how to start it", round, err)
			}
		})
		ctx := t.Context()
		if withDeadline {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Minute)
			defer cancel()
		}
		if _, err := c.GetToken(ctx, req); err != nil {
			t.Errorf("round %d (deadline %v): first GetToken after the restart: %v", round, withDeadline, err)
		}
	}
}

// The same for an MCP client's http.Client with a client.Transport: the
// first request after the restart carries a token.
func TestTransportSurvivesDaemonRestart(t *testing.T) {
	env := startDaemon(t)
	c, err := client.Dial(t.Context(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc := &http.Client{Transport: &client.Transport{Source: c, Resource: env.TB.MCP.URL()}}
	ping := func() (int, error) {
		resp, err := hc.Post(env.TB.MCP.URL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	restart(t, env, func() {
		if _, err := ping(); !client.IsUnreachable(err) {
			t.Errorf("request while the daemon is down: %v, want an UnreachableError", err)
		}
	})
	// Any answer but 401 shows the token was accepted (a ping outside a
	// session is a 400 for this server).
	if status, err := ping(); err != nil || status == http.StatusUnauthorized {
		t.Errorf("first request after the restart: status %d, %v", status, err)
	}
}

// New does not need the daemon: a Client made while it is down serves as
// soon as it is up.
func TestNewBeforeDaemon(t *testing.T) {
	env := startDaemon(t)
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := client.TokenRequest{Resource: env.TB.MCP.URL()}
	if _, err := c.GetToken(t.Context(), req); !client.IsUnreachable(err) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("GetToken with no daemon: %v, want an UnreachableError naming the cause", err)
	}
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetToken(t.Context(), req); err != nil {
		t.Errorf("GetToken once the daemon runs: %v", err)
	}
}
