package peercred

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UIDInterceptor returns unary and stream server interceptors that let
// through only callers whose uid is uid, and refuse everyone else, including
// calls without peer credentials, with codes.PermissionDenied. Every method
// is checked, health and reflection included: they are harmless, but one
// rule with no exceptions is easier to trust than a list. Refusals are logged
// (uid, pid, method) at warn level; nil logger discards.
func UIDInterceptor(uid uint32, logger *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	check := uidCheck{uid: uid, log: logger}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := check.allow(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := check.allow(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
	return unary, stream
}

type uidCheck struct {
	uid uint32
	log *slog.Logger
}

// allow returns nil for a caller running as c.uid. The refusal message names
// only the caller's own uid: it tells them what to fix without saying
// anything about the daemon.
func (c uidCheck) allow(ctx context.Context, method string) error {
	cred, ok := FromContext(ctx)
	if !ok {
		c.log.Warn("refused caller", "method", method, "reason", "no peer credentials")
		return status.Error(codes.PermissionDenied, "permission denied: caller credentials unknown")
	}
	if cred.UID != c.uid {
		c.log.Warn("refused caller", "uid", cred.UID, "pid", cred.PID, "method", method, "reason", "uid differs from the daemon's")
		return status.Errorf(codes.PermissionDenied,
			"permission denied: uid %d may not use this xaad; it serves only the user it runs as", cred.UID)
	}
	return nil
}
