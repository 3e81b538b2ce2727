package daemon

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Bounds of the health service: it is fed by local clients (watchers) and
// by the server registry (services).
const (
	maxHealthWatchers = 256
	maxHealthList     = 1000
)

type servingStatus = healthpb.HealthCheckResponse_ServingStatus

// healthServer is the grpc.health.v1 service. grpc-go's health.Server
// cannot forget a service, and a removed MCP server must leave health: the
// health protocol answers an unknown service with NOT_FOUND to Check and
// SERVICE_UNKNOWN to Watch (grpc/doc/health-checking.md), which is what a
// removed server becomes here.
type healthServer struct {
	healthpb.UnimplementedHealthServer

	mu       sync.Mutex
	shutdown bool
	statuses map[string]servingStatus
	// watchers hold one channel per Watch stream, by service; each keeps
	// only the latest status, so a slow reader never blocks an update.
	watchers map[string]map[chan servingStatus]struct{}
	nwatch   int
}

func newHealthServer() *healthServer {
	return &healthServer{statuses: map[string]servingStatus{}, watchers: map[string]map[chan servingStatus]struct{}{}}
}

// Check implements grpc.health.v1.Health.
func (h *healthServer) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.statuses[req.GetService()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no health service %q: it is not a known MCP server URL (see `xaactl server ls`)", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// List implements grpc.health.v1.Health.
func (h *healthServer) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.statuses) > maxHealthList {
		return nil, status.Errorf(codes.ResourceExhausted, "%d health services, more than List returns (%d); Check them one by one", len(h.statuses), maxHealthList)
	}
	out := make(map[string]*healthpb.HealthCheckResponse, len(h.statuses))
	for svc, st := range h.statuses {
		out[svc] = &healthpb.HealthCheckResponse{Status: st}
	}
	return &healthpb.HealthListResponse{Statuses: out}, nil
}

// Watch implements grpc.health.v1.Health: the current status at once, then
// every change, until the client cancels.
func (h *healthServer) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	svc := req.GetService()
	ch, err := h.watch(svc)
	if err != nil {
		return err
	}
	defer h.unwatch(svc, ch)
	last := servingStatus(-1)
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case st := <-ch:
			if st == last {
				continue
			}
			last = st
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
		}
	}
}

func (h *healthServer) watch(svc string) (chan servingStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nwatch >= maxHealthWatchers {
		return nil, status.Errorf(codes.ResourceExhausted, "%d health watchers already; close some", maxHealthWatchers)
	}
	ch := make(chan servingStatus, 1)
	ch <- h.statusLocked(svc)
	if h.watchers[svc] == nil {
		h.watchers[svc] = map[chan servingStatus]struct{}{}
	}
	h.watchers[svc][ch] = struct{}{}
	h.nwatch++
	return ch, nil
}

func (h *healthServer) unwatch(svc string, ch chan servingStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers[svc], ch)
	if len(h.watchers[svc]) == 0 {
		delete(h.watchers, svc)
	}
	h.nwatch--
}

func (h *healthServer) statusLocked(svc string) servingStatus {
	if st, ok := h.statuses[svc]; ok {
		return st
	}
	return healthpb.HealthCheckResponse_SERVICE_UNKNOWN
}

// notifyLocked hands svc's status to its watchers, replacing any status
// they have not read yet.
func (h *healthServer) notifyLocked(svc string) {
	st := h.statusLocked(svc)
	for ch := range h.watchers[svc] {
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

// SetServingStatus sets (or adds) svc. After Shutdown it does nothing.
func (h *healthServer) SetServingStatus(svc string, st servingStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return
	}
	h.statuses[svc] = st
	h.notifyLocked(svc)
}

// Remove forgets svc: Check answers NOT_FOUND, watchers get SERVICE_UNKNOWN.
func (h *healthServer) Remove(svc string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return
	}
	delete(h.statuses, svc)
	h.notifyLocked(svc)
}

// Shutdown sets every service NOT_SERVING for good: the daemon is stopping.
func (h *healthServer) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shutdown = true
	for svc := range h.statuses {
		h.statuses[svc] = healthpb.HealthCheckResponse_NOT_SERVING
		h.notifyLocked(svc)
	}
}
