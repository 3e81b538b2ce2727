package daemon_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// BenchmarkGetToken measures a cached GetToken over the real Unix socket
// against the gRPC health Check on the same server and connection, the
// closest thing to an empty unary call the daemon serves. Compare the
// ns/op of the pairs (see docs/benchmarks.md); p99-ns is the 99th
// percentile latency of single calls.
func BenchmarkGetToken(b *testing.B) {
	e := newEnv(b, "")
	e.start(b)
	c := e.dial(b)
	e.login(b, c)
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	api := xaadv1.NewXaadServiceClient(conn)
	health := healthpb.NewHealthClient(conn)
	req := &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL()}
	if _, err := api.GetToken(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	calls := map[string]func(context.Context) error{
		"empty": func(ctx context.Context) error {
			_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		},
		"token": func(ctx context.Context) error {
			_, err := api.GetToken(ctx, req)
			return err
		},
	}
	for _, name := range []string{"empty", "token"} {
		call := calls[name]
		b.Run(name+"/seq", func(b *testing.B) {
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportP99(b, lat)
		})
		b.Run(name+"/par64", func(b *testing.B) {
			ctx := context.Background()
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(32) // 32 x GOMAXPROCS(2) = 64 callers on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					if err := call(ctx); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			reportP99(b, lat)
		})
	}
	if n := e.tb.TokenExchanges(); n != 1 {
		b.Errorf("%d exchanges during the benchmark, want 1", n)
	}
}

func reportP99(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
