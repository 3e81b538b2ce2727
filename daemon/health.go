package daemon

import (
	"context"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/broker"
)

// trackHealth keeps one health service per MCP server (named by its URL)
// in step with the broker: SERVING while a valid token exists or can be
// got, NOT_SERVING while none can (signed out, NEEDS_LOGIN, or the last
// attempt failed with no valid token left). A removed server's service is
// removed. It returns when ctx ends.
func trackHealth(ctx context.Context, b *broker.Broker, hs *healthServer) {
	sub := b.Subscribe(nil)
	defer sub.Close()
	known := map[string]bool{}
	resync := func() {
		now := map[string]bool{}
		for _, si := range b.Servers() {
			hs.SetServingStatus(si.URL, healthOf(si))
			now[si.URL] = true
		}
		for url := range known {
			if !now[url] {
				hs.Remove(url)
			}
		}
		known = now
	}
	resync()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-sub.C:
			if sub.Overflowed() {
				resync() // events were dropped: the snapshot says it all
				continue
			}
			if ev.Kind == broker.EventRemoved {
				hs.Remove(ev.Server.URL)
				delete(known, ev.Server.URL)
				continue
			}
			hs.SetServingStatus(ev.Server.URL, healthOf(ev.Server))
			known[ev.Server.URL] = true
		}
	}
}

func healthOf(si broker.ServerInfo) healthpb.HealthCheckResponse_ServingStatus {
	switch si.State {
	case broker.ServerFailed, broker.ServerNeedsLogin:
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}
