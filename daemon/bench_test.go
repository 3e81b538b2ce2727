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
// against the gRPC health Check on the same server and connection (the
// closest thing to an empty unary call the daemon serves). Each iteration
// makes one call of each, interleaved, so both see the same machine load
// and the ratio holds on a noisy machine. Metrics: empty-ns and token-ns
// are mean latencies, ratio is token/empty, and the -p99 metrics are the
// 99th percentiles. See docs/benchmarks.md.
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
	pair := func(ctx context.Context, s *samples) error {
		t0 := time.Now()
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			return err
		}
		t1 := time.Now()
		if _, err := api.GetToken(ctx, req); err != nil {
			return err
		}
		s.add(t1.Sub(t0), time.Since(t1))
		return nil
	}
	b.Run("seq", func(b *testing.B) {
		var s samples
		for b.Loop() {
			if err := pair(context.Background(), &s); err != nil {
				b.Fatal(err)
			}
		}
		s.report(b)
	})
	b.Run("par64", func(b *testing.B) {
		var mu sync.Mutex
		var all samples
		b.SetParallelism(32) // 32 x GOMAXPROCS(2) = 64 concurrent callers
		b.RunParallel(func(pb *testing.PB) {
			var s samples
			for pb.Next() {
				if err := pair(context.Background(), &s); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			all.empty = append(all.empty, s.empty...)
			all.token = append(all.token, s.token...)
			mu.Unlock()
		})
		all.report(b)
	})
	if n := e.tb.TokenExchanges(); n != 1 {
		b.Errorf("%d exchanges during the benchmark, want 1", n)
	}
}

type samples struct{ empty, token []time.Duration }

func (s *samples) add(empty, token time.Duration) {
	s.empty = append(s.empty, empty)
	s.token = append(s.token, token)
}

func (s *samples) report(b *testing.B) {
	if len(s.empty) == 0 {
		return
	}
	me, mt := mean(s.empty), mean(s.token)
	b.ReportMetric(me, "empty-ns")
	b.ReportMetric(mt, "token-ns")
	b.ReportMetric(mt/me, "ratio")
	b.ReportMetric(p99(s.empty), "empty-p99-ns")
	b.ReportMetric(p99(s.token), "token-p99-ns")
}

func mean(d []time.Duration) float64 {
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return float64(sum.Nanoseconds()) / float64(len(d))
}

func p99(d []time.Duration) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[len(d)*99/100].Nanoseconds())
}
