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
func TransportCredentials() credentials.TransportCredentials { return transport{} }

type transport struct{}

var errNotWrapped = errors.New("peercred: connection was not accepted through peercred.Listener")

func authInfo(c Cred) AuthInfo {
	return AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		Cred:           c,
	}
}

func (transport) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	cred, ok := ConnCred(c)
	if !ok {
		return nil, nil, errNotWrapped
	}
	return c, authInfo(cred), nil
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

func (transport) Clone() credentials.TransportCredentials { return transport{} }

// OverrideServerName is a no-op: there is no server name to check.
func (transport) OverrideServerName(string) error { return nil }

// FromContext returns the caller's credentials in a gRPC handler or
// interceptor, and whether the connection carried any.
func FromContext(ctx context.Context) (Cred, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Cred{}, false
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	if !ok {
		return Cred{}, false
	}
	return ai.Cred, true
}
