package peercred

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// AuthType is what [AuthInfo.AuthType] returns.
const AuthType = "peercred"

// AuthInfo is the gRPC AuthInfo for a peercred connection.
type AuthInfo struct {
	credentials.CommonAuthInfo
	Cred Cred
	// Process is the server's view of the calling process (nil on the
	// client side, which learns only the server's Cred, and for a refused
	// connection, which is never pinned).
	Process *Process
	// Refusal says why the [Listener]'s Limiter refused this connection;
	// nil when it was admitted. [ConnInterceptors] fail every call on it.
	Refusal *LimitError

	conn *conn // the server side's connection, for ConnInterceptors
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return AuthType }

// TransportCredentials returns gRPC transport credentials for Unix sockets
// that adds no encryption (the bytes never leave the kernel) and identifies
// the peer.
//
// On the server, connections must come from a [Listener]; any other is
// refused, so forgetting the wrapper fails closed instead of serving
// anonymous callers. On the client, the server's credentials are read from
// the dialed socket, so a client can check whose daemon it reached.
//
// The security level is PrivacyAndIntegrity, as grpc's own local credentials
// report for Unix sockets, so per-RPC credentials that demand a secure
// transport work over it.
//
// The server side also identifies the calling process ([Process]: its
// executable and the executable's SHA-256) during the handshake, which gRPC
// runs on the connection's own goroutine, so hashing never delays Accept.
func TransportCredentials() credentials.TransportCredentials {
	return transport{cache: &hashCache{}}
}

type transport struct{ cache *hashCache }

var errNotWrapped = errors.New("peercred: connection was not accepted through peercred.Listener")

func authInfo(c Cred) AuthInfo {
	return AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		Cred:           c,
	}
}

func (t transport) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	pc, ok := c.(*conn)
	if !ok {
		return nil, nil, errNotWrapped
	}
	ai := authInfo(pc.cred)
	ai.conn = pc
	if pc.refusal != nil {
		ai.Refusal = pc.refusal
		return c, ai, nil
	}
	ai.Process = identify(pc.proc, pc.cred.PID, t.cache)
	if pc.slot != nil {
		pc.lim.identified(pc.slot)
	}
	return c, ai, nil
}

func (transport) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	cred, err := FromConn(c)
	if err != nil {
		return nil, nil, err
	}
	return c, authInfo(cred), nil
}

func (transport) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: AuthType}
}

func (t transport) Clone() credentials.TransportCredentials { return t }

// OverrideServerName is a no-op: there is no server name to check.
func (transport) OverrideServerName(string) error { return nil }

// FromContext returns the caller's credentials in a gRPC handler or
// interceptor, and whether the connection carried any.
func FromContext(ctx context.Context) (Cred, bool) {
	ai, ok := authInfoFrom(ctx)
	return ai.Cred, ok
}

func authInfoFrom(ctx context.Context) (AuthInfo, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return AuthInfo{}, false
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	return ai, ok
}
