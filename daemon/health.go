package daemon

import (
	"context"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/broker"
)

// trackHealth keeps one health service per MCP server (named by its URL):
// SERVING while a valid token exists or can be got, NOT_SERVING once the
// last attempt failed and no valid token is left. It returns when ctx ends.
func trackHealth(ctx context.Context, b *broker.Broker, hs *health.Server) {
	sub := b.Subscribe(nil)
	defer sub.Close()
	for _, si := range b.Servers() {
		hs.SetServingStatus(si.URL, healthOf(si))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-sub.C:
			if sub.Overflowed() {
				for _, si := range b.Servers() {
					hs.SetServingStatus(si.URL, healthOf(si))
				}
			}
			hs.SetServingStatus(ev.Server.URL, healthOf(ev.Server))
		}
	}
}

func healthOf(si broker.ServerInfo) healthpb.HealthCheckResponse_ServingStatus {
	if si.State == broker.ServerFailed {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}
