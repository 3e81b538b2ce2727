package daemon_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// WatchTokens sends a snapshot, then every refresh, in order; a reader
// that never reads does not delay another.
func TestWatchTokens(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}

	// A stalled reader: opened and never read.
	stalled, err := c.Raw().WatchTokens(ctx, &xaadv1.WatchTokensRequest{IncludeTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = stalled

	w, err := c.Raw().WatchTokens(ctx, &xaadv1.WatchTokensRequest{Resources: []string{e.tb.MCP.URL()}, IncludeTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	first, err := w.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.GetKind() != xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT || first.GetServer().GetUrl() != e.tb.MCP.URL() || first.GetToken().GetAccessToken() == "" {
		t.Fatalf("first message %v", first.GetKind())
	}
	end, err := w.Recv()
	if err != nil || end.GetKind() != xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END {
		t.Fatalf("want SNAPSHOT_END, got %v %v", end.GetKind(), err)
	}
	// Three forced refreshes arrive as three events, in order.
	var want []string
	for range 3 {
		tok, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tok.AccessToken)
	}
	for i, tok := range want {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetKind() != xaadv1.WatchEventKind_WATCH_EVENT_KIND_REFRESHED || ev.GetToken().GetAccessToken() != tok {
			t.Fatalf("event %d: kind %v, token in order %v", i, ev.GetKind(), ev.GetToken().GetAccessToken() == tok)
		}
	}

	// Per-server health follows the server.
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Watch, not Check: the health service learns of the server through
	// the same event stream, asynchronously.
	hw, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := hw.Recv()
		if err != nil {
			t.Fatalf("server health: %v", err)
		}
		if r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}
}

// The client's watcher rides out a daemon restart and starts again from a
// snapshot.
func TestClientWatchReconnects(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	events := make(chan client.WatchEvent, 100)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, client.WatchRequest{}, func(ev client.WatchEvent) error {
			events <- ev
			return nil
		})
	}()
	waitKind := func(kind xaadv1.WatchEventKind) client.WatchEvent {
		t.Helper()
		for ev := range events {
			if ev.Kind == kind {
				return ev
			}
		}
		t.Fatal("event stream closed")
		return client.WatchEvent{}
	}
	if ev := waitKind(xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT); ev.Server.GetUrl() != e.tb.MCP.URL() {
		t.Fatalf("snapshot of %q", ev.Server.GetUrl())
	}
	waitKind(xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END)
	stop()
	e.start(t)
	// The restarted daemon loaded the server from its database; the
	// watcher reconnects on its own and gets a fresh snapshot.
	if ev := waitKind(xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT); ev.Server.GetUrl() != e.tb.MCP.URL() {
		t.Fatalf("snapshot after restart of %q", ev.Server.GetUrl())
	}
	waitKind(xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
}
