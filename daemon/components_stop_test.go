package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/xaad-dev/xaad/internal/clock"
)

// A handler still running when the grace ends and the server is stopped
// (its context cancelled, its work not done) holds serve until it
// returns: what serve's return lets close next (the broker, the store) is
// never closed under it.
func TestServeWaitsForHandlers(t *testing.T) {
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
	var servedEarly, returned atomic.Bool
	entered := make(chan struct{})
	srv := grpc.NewServer(stopOptions()...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Slow",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			close(entered)
			<-ctx.Done()
			// Work after the cancel, as a store write that had begun:
			// serve must not return meanwhile.
			for range 10000 {
				runtime.Gosched()
			}
			servedEarly.Store(returned.Load())
			return &emptypb.Empty{}, nil
		}}},
	}, nil)
	f := clock.NewFake(t0)
	d := &Daemon{srv: srv, health: newHealthServer(), ln: ln, clock: f, log: discard()}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { err := d.serve(ctx); returned.Store(true); served <- err }()

	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go conn.Invoke(context.Background(), "/test.Slow/Call", &emptypb.Empty{}, new(emptypb.Empty))
	<-entered
	cancel()
	f.WaitTimers(1) // the grace timer: GracefulStop waits for the call
	f.Advance(stopGrace)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if servedEarly.Load() {
		t.Fatal("serve returned while a handler was still running")
	}
}
