package daemon

import (
	"context"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/broker"
)

// healthTracker keeps one health service per MCP server (named by its
// URL) in step with the broker: SERVING while a valid token exists or can
// be got, NOT_SERVING while none can (signed out, NEEDS_LOGIN, or the last
// attempt failed with no valid token left). A removed server's service is
// removed.
type healthTracker struct {
	b     *broker.Broker
	hs    *healthServer
	sub   *broker.Subscription
	known map[string]bool
}

// newHealthTracker subscribes and sets every server's status at once. The
// daemon's constructor calls it, so health knows each server before
// READY=1 goes out: a client told the daemon is ready never gets NOT_FOUND
// for a configured server.
func newHealthTracker(b *broker.Broker, hs *healthServer) *healthTracker {
	t := &healthTracker{b: b, hs: hs, sub: b.Subscribe(nil), known: map[string]bool{}}
	t.resync()
	return t
}

func (t *healthTracker) resync() {
	now := map[string]bool{}
	for _, si := range t.b.Servers() {
		t.hs.SetServingStatus(si.URL, healthOf(si))
		now[si.URL] = true
	}
	for url := range t.known {
		if !now[url] {
			t.hs.Remove(url)
		}
	}
	t.known = now
}

// Run follows the broker's events until ctx ends. Events queued since
// the constructor (past the subscription's buffer, a resync) are applied
// first.
func (t *healthTracker) Run(ctx context.Context) error {
	defer t.close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-t.sub.C:
			if t.sub.Overflowed() {
				t.resync() // events were dropped: the snapshot says it all
				continue
			}
			if ev.Kind == broker.EventRemoved {
				t.hs.Remove(ev.Server.URL)
				delete(t.known, ev.Server.URL)
				continue
			}
			t.hs.SetServingStatus(ev.Server.URL, healthOf(ev.Server))
			t.known[ev.Server.URL] = true
		}
	}
}

// close ends the subscription; it may be called more than once.
func (t *healthTracker) close() { t.sub.Close() }

func healthOf(si broker.ServerInfo) healthpb.HealthCheckResponse_ServingStatus {
	switch si.State {
	case broker.ServerFailed, broker.ServerNeedsLogin:
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}
