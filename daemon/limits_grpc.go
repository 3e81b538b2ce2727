package daemon

import (
	"context"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/peercred"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// serverLimits are the gRPC server's bounds (see limits.go).
func serverLimits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRequestBytes),
		grpc.MaxSendMsgSize(maxReplyBytes),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		// An idle connection gets GOAWAY; a client reconnects on its next call.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: connIdle}),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.StaticStreamWindowSize(windowBytes),
		grpc.StaticConnWindowSize(windowBytes),
	}
}

// connLimits bound the connections the socket holds (peercred.Limits).
func connLimits() peercred.Limits {
	return peercred.Limits{
		Total: maxConns, PerProcess: maxConnsPerProcess,
		OwnUID: uint32(os.Getuid()), OtherUIDs: maxConnsOtherUIDs,
		Refused: maxRefusedConns, Linger: refusedLinger,
	}
}

// refuseConn is what a caller on a connection over the limits is told.
func refuseConn(e *peercred.LimitError) error { return limitExceeded("%s", e.Error()) }

// usage holds the per-caller usage limits of the API: streams, forced
// refreshes and scope sets.
type usage struct {
	streams streamCount
	force   *forceGate
	scopes  *scopeQuota
}

func newUsage(c clock.Clock) *usage {
	return &usage{force: newForceGate(c), scopes: newScopeQuota(c)}
}

// unary applies the usage limits to GetToken. It runs after the policy,
// so a refused caller spends nothing.
func (u *usage) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r, ok := req.(*xaadv1.GetTokenRequest)
	if !ok {
		return h(ctx, req)
	}
	caller := callerOf(ctx)
	scopes := scopeSet(r.GetScopes())
	if err := u.scopes.use(caller, r.GetResource(), scopes); err != nil {
		return nil, err
	}
	key := r.GetResource() + "\x00" + strings.Join(scopes, " ")
	token := ""
	call := func(req *xaadv1.GetTokenRequest) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		token = resp.(*xaadv1.GetTokenResponse).GetAccessToken()
		u.force.handedOut(caller, key, token)
		return resp, nil
	}
	if !r.GetForceRefresh() {
		return call(r)
	}
	force, done, err := u.force.admit(ctx, caller, key)
	if err != nil {
		return nil, err
	}
	if !force {
		plain := proto.CloneOf(r)
		plain.ForceRefresh = false
		return call(plain)
	}
	resp, err := call(r)
	done(token, err)
	return resp, err
}

// stream bounds the streams open at once, of every method: a stream
// lasts as long as its caller wants, and keeps its connection busy.
func (u *usage) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	release, err := u.streams.acquire(callerOf(ss.Context()))
	if err != nil {
		return err
	}
	defer release()
	return h(srv, ss)
}
