package daemon_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
)

// BenchmarkStartup1000 measures daemon start-up, from Run to READY (the
// socket serves), with a database holding an identity and 1,000 servers.
// Target: under 200 ms.
func BenchmarkStartup1000(b *testing.B) {
	e := newEnv(b, "")
	stop := e.start(b)
	c := e.dial(b)
	e.login(b, c)
	ctx := context.Background()
	for i := range 1000 {
		if _, err := c.AddServer(ctx, client.Server{URL: fmt.Sprintf("https://mcp%d.example/mcp", i), Scopes: []string{"tools.read"}}); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	stop()
	b.ResetTimer()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- daemon.Run(ctx, daemon.Options{
				Config: e.cfg, SocketPath: e.sock, StateDir: e.state,
				Logger: daemon.NewLogger(io.Discard, "info"), OnReady: func(string) { close(ready) },
			})
		}()
		select {
		case <-ready:
		case err := <-done:
			b.Fatalf("daemon exited: %v", err)
		}
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
