package daemon_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// A health service name is a server URL (or ""), and is bounded as URLs
// are: a longer one is refused by Check and Watch alike, before the
// health service keeps it for a watcher.
func TestLimitsHealthServiceName(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	ctx := t.Context()
	h := healthpb.NewHealthClient(rawConn(t, e.sock))
	long := "https://mcp.example/" + strings.Repeat("a", 5000)
	_, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: long})
	wantRefused(t, "Check", err, codes.InvalidArgument, "INVALID_ARGUMENT", "service is 5020 bytes; xaad accepts at most 4096")
	w, err := h.Watch(ctx, &healthpb.HealthCheckRequest{Service: long})
	if err == nil {
		_, err = w.Recv()
	}
	wantRefused(t, "Watch", err, codes.InvalidArgument, "INVALID_ARGUMENT", "service is 5020 bytes; xaad accepts at most 4096")
	if r, err := h.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("the daemon's own health after the refusals: %v %v", r, err)
	}
}
