package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/xaad-dev/xaad/daemon/socket"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/peercred"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// stopGrace bounds a graceful stop: in-flight calls may finish, streams
// (Login, WatchTokens) are cut after it; and upstream flights get as long
// to store their results.
const stopGrace = 5 * time.Second

// components are the daemon's parts in start order; runInOrder stops them
// in the reverse order. So: READY=1 goes out once everything runs, and
// STOPPING=1 first; the server stops taking calls before anything it
// calls stops; the broker's flights store their results before the audit
// writer ends and, after Run, the store closes.
func (d *Daemon) components() []component {
	return []component{
		{"audit writer", d.audit.Run},
		{"notifier", d.notes.Run},
		{"broker", d.runBroker},
		{"health tracker", d.healthTrack.Run},
		{"sleep watcher", func(ctx context.Context) error { watchSleep(ctx, d.log, d.broker.Resync); return nil }},
		{"reload handler", d.reload.Run},
		{"watchdog", d.watchdog.Run},
		{"gRPC server", d.serve},
		{"readiness", d.announce},
	}
}

// newServer builds the gRPC server, within the bounds of limits.go: every
// call passes the audit, the connection limits, the uid check, the shape
// bounds of its request, the caller policy and the usage limits (in that
// order, so refusals are audited and a caller the policy refuses spends
// none of its usage); the API, health and reflection are served.
func newServer(d *Daemon) (*grpc.Server, *healthServer) {
	unaryUID, streamUID := peercred.UIDInterceptor(uint32(os.Getuid()), d.log)
	unaryConn, streamConn := peercred.ConnInterceptors(refuseConn)
	g, u := d.guard, newUsage(d.clock)
	srv := grpc.NewServer(append(append(serverLimits(), stopOptions()...),
		grpc.Creds(peercred.TransportCredentials()),
		grpc.ChainUnaryInterceptor(g.auditUnary, unaryConn, unaryUID, shapeUnary, g.policyUnary, u.unary),
		grpc.ChainStreamInterceptor(g.auditStream, streamConn, streamUID, shapeStream, g.policyStream, u.stream),
	)...)
	xaadv1.RegisterXaadServiceServer(srv, &service{b: d.broker, started: d.clock.Now(), version: d.opts.Version, warnings: d.store.warnings})
	hs := newHealthServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(xaadv1.XaadService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, hs
}

// stopOptions make the server's Stop return only once every handler has
// returned, as GracefulStop does: Stop cancels their contexts, but a
// handler may still be finishing a store write, and once serve returns
// the broker and then the store close. serve also waits for the
// GracefulStop it began; this keeps Stop alone safe too.
func stopOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.WaitForHandlers(true)}
}

func listen(path string) (net.Listener, bool, error) {
	ln, ok, err := socket.FromSystemd()
	if err != nil {
		return nil, false, err
	}
	if ok {
		return ln, true, nil
	}
	ln, err = socket.Listen(path)
	return ln, false, err
}

// serve serves the socket until ctx ends, then stops: health says
// NOT_SERVING, calls in progress may finish within stopGrace, and what
// is left (streams) is cut.
func (d *Daemon) serve(ctx context.Context) error {
	served := make(chan error, 1)
	ln := peercred.Listener{Listener: d.ln, Logger: d.log, Limiter: peercred.NewLimiter(connLimits())}
	go func() { served <- d.srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	d.health.Shutdown()
	stopped := make(chan struct{})
	go func() { d.srv.GracefulStop(); close(stopped) }()
	t := d.clock.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C():
		d.srv.Stop()
		<-stopped
	}
	<-served
	return nil
}

// runBroker runs the refresh loops until ctx ends, then lets upstream
// flights in progress store their results (a rotated token dropped here
// is a lost sign-in) for up to stopGrace.
func (d *Daemon) runBroker(ctx context.Context) error {
	// Both loops: access tokens and the ID token.
	if err := d.broker.Run(ctx); err != nil {
		d.log.Error("the broker's refresh loops stopped", slog.Any("error", err))
	}
	closeCtx, cancel := clockTimeout(d.clock, stopGrace)
	defer cancel()
	d.broker.Close(closeCtx)
	return nil
}

// announce tells systemd, the log and OnReady that the daemon serves,
// once every other part runs; at the stop, before any other part stops, it
// tells systemd STOPPING=1.
func (d *Daemon) announce(ctx context.Context) error {
	where := d.ln.Addr().String()
	if d.activated {
		where += " (from systemd)"
	}
	d.log.Info("xaad ready", slog.String("socket", where), slog.String("state", d.store.db.Path()), slog.String("version", d.opts.Version))
	if _, err := socket.Ready(); err != nil {
		d.log.Warn("sd_notify READY failed", slog.Any("error", err))
	}
	if d.opts.OnReady != nil {
		d.opts.OnReady(d.ln.Addr().String())
	}
	<-ctx.Done()
	d.log.Info("stopping")
	_, _ = socket.Stopping()
	return nil
}

// clockTimeout is context.WithTimeout on c, so a test's fake clock
// governs the daemon's deadlines too.
func clockTimeout(c clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t := c.NewTimer(d)
	go func() {
		defer t.Stop()
		select {
		case <-t.C():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
