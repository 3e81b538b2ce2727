package daemon

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Watchers are bounded; a removed service is unknown to Check and to its
// watchers; after Shutdown everything is NOT_SERVING and stays so.
func TestHealthServer(t *testing.T) {
	h := newHealthServer()
	const svc = "https://mcp.example/mcp"
	h.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	var chans []chan servingStatus
	for range maxHealthWatchers {
		ch, err := h.watch(svc)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	if _, err := h.watch(svc); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("watcher %d: %v, want ResourceExhausted", maxHealthWatchers+1, err)
	}
	h.unwatch(svc, chans[0])
	if _, err := h.watch(svc); err != nil {
		t.Fatalf("a freed watcher slot is not reused: %v", err)
	}

	h.SetServingStatus(svc, healthpb.HealthCheckResponse_NOT_SERVING)
	h.Remove(svc)
	if st := <-chans[1]; st != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Errorf("a watcher of a removed service reads %v, want only the latest, SERVICE_UNKNOWN", st)
	}
	if _, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc}); status.Code(err) != codes.NotFound {
		t.Errorf("Check of a removed service: %v", err)
	}

	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.Shutdown()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("after Shutdown: %v %v", r, err)
	}
}
