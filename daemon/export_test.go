package daemon

import healthpb "google.golang.org/grpc/health/grpc_health_v1"

// HealthForTest is the status health holds for svc, and whether it has one.
func (d *Daemon) HealthForTest(svc string) (healthpb.HealthCheckResponse_ServingStatus, bool) {
	d.health.mu.Lock()
	defer d.health.mu.Unlock()
	st, ok := d.health.statuses[svc]
	return st, ok
}
