package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/internal/clock"
)

// The server's stop is graceful within stopGrace on the daemon's clock:
// health turns NOT_SERVING at once, an open stream (which a graceful stop
// alone would wait for forever) is cut once the grace has passed.
func TestServeStopsWithinGrace(t *testing.T) {
	dir, err := os.MkdirTemp("", "xs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := clock.NewFake(t0)
	srv := grpc.NewServer()
	hs := newHealthServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	d := &Daemon{srv: srv, health: hs, ln: ln, clock: f, log: discard()}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.serve(ctx) }()

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watch, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first health: %v %v", r, err)
	}

	cancel()
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health at the stop: %v %v, want NOT_SERVING", r, err)
	}
	f.WaitTimers(1) // the grace timer: the stream still holds the stop
	select {
	case err := <-served:
		t.Fatalf("serve returned with a stream open before the grace ended: %v", err)
	default:
	}
	f.Advance(stopGrace)
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a hang guard
		t.Fatal("serve did not return after the grace")
	}
	if _, err := watch.Recv(); err == nil {
		t.Fatal("the stream outlived the stop")
	}
}
