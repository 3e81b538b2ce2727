package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Client is a connection to the xaad daemon. It is safe for concurrent use;
// one Client per process is enough. The zero value is not usable: call
// [Dial] or [New].
//
// A Client outlives the daemon: when the daemon restarts, the next call
// reconnects. A call made while the daemon is away waits for it until the
// call's context has a deadline and that deadline passes, or, without a
// deadline, for [ReadyWait]; then it fails with an [*UnreachableError].
type Client struct {
	socket  string
	conn    *grpc.ClientConn
	rpc     xaadv1.XaadServiceClient
	lastErr *dialError
}

// ReadyWait is how long a call without a deadline waits for a daemon that
// is not connected (restarting, or not running) before it fails. It covers
// a restart, which takes well under a second.
const ReadyWait = 2 * time.Second

// reconnectBackoff replaces gRPC's default reconnect backoff, which grows to
// 120 s: a process holding a Client (a running `xaactl proxy`, an MCP client
// using Transport) would keep failing that long after the daemon is back.
// On a Unix socket a failed attempt costs next to nothing, so the delay
// stays under a second.
var reconnectBackoff = backoff.Config{
	BaseDelay:  50 * time.Millisecond,
	Multiplier: 1.6,
	Jitter:     0.2,
	MaxDelay:   time.Second,
}

// Option changes how [Dial] connects.
type Option func(*options)

type options struct {
	dialOpts []grpc.DialOption
}

// WithDialOptions adds gRPC dial options (for example interceptors). The
// transport credentials and the dialer are set by Dial and must not be
// overridden.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// Dial connects to the daemon listening on socketPath (see
// [DefaultSocketPath]) and waits until the connection is up or ctx ends, so a
// daemon that is not running is reported here rather than at the first call.
// The error is then an [*UnreachableError] that says how to start it.
//
// The connection uses no TLS: it never leaves the machine, and Dial checks
// that the process serving the socket runs as the caller or as root.
func Dial(ctx context.Context, socketPath string, opts ...Option) (*Client, error) {
	c, err := New(socketPath, opts...)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, c.conn, false); err != nil {
		c.conn.Close()
		return nil, c.unreachable(err)
	}
	return c, nil
}

// New returns a Client for the daemon at socketPath without connecting: the
// first call connects, and a daemon that is not running yet is waited for
// as the [Client] documentation says. Programs that must start whether or
// not the daemon runs (`xaactl proxy`) use New; others use [Dial], which
// reports a missing daemon at once.
func New(socketPath string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(socketPath)
	if err != nil {
		return nil, fmt.Errorf("socket path %q: %w", socketPath, err)
	}
	// The dialer remembers its last error because gRPC reports only
	// TRANSIENT_FAILURE, and the cause is what tells the user what to fix.
	c := &Client{socket: abs, lastErr: &dialError{}}
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		conn, err := dialUnix(ctx, abs)
		c.lastErr.set(err)
		return conn, err
	}
	dialOpts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dialer),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnectBackoff, MinConnectTimeout: ReadyWait}),
		grpc.WithChainUnaryInterceptor(c.unaryReady),
		grpc.WithChainStreamInterceptor(c.streamReady),
	}, o.dialOpts...)
	// "unix://" + an absolute path is gRPC's unix:///path form.
	conn, err := grpc.NewClient("unix://"+abs, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", abs, err)
	}
	c.conn, c.rpc = conn, xaadv1.NewXaadServiceClient(conn)
	return c, nil
}

// waitReady starts connecting and waits for the outcome. With retry it
// waits through failed attempts until ctx ends; without, the first failure
// ends the wait.
func waitReady(ctx context.Context, conn *grpc.ClientConn, retry bool) error {
	conn.Connect()
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Shutdown:
			return errors.New("connection closed")
		case connectivity.TransientFailure:
			if !retry {
				return errors.New("connection failed")
			}
		case connectivity.Idle:
			conn.Connect() // after a failure gRPC waits for demand
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// ready prepares a call for a connection that may be down. A call with a
// deadline gets WaitForReady, so gRPC holds it until the daemon is back or
// the deadline passes; a call without one waits here for at most
// ReadyWait, then goes ahead (and fails fast if the daemon is still
// away). Either way a pending reconnect delay is skipped: the caller wants
// the daemon now.
func (c *Client) ready(ctx context.Context, opts []grpc.CallOption) []grpc.CallOption {
	if c.conn.GetState() == connectivity.Ready {
		return opts
	}
	c.conn.ResetConnectBackoff()
	if _, ok := ctx.Deadline(); ok {
		return append(opts, grpc.WaitForReady(true))
	}
	wctx, cancel := context.WithTimeout(ctx, ReadyWait)
	defer cancel()
	waitReady(wctx, c.conn, true)
	return opts
}

func (c *Client) unaryReady(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoke(ctx, method, req, reply, cc, c.ready(ctx, opts)...)
}

func (c *Client) streamReady(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, stream grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return stream(ctx, desc, cc, method, c.ready(ctx, opts)...)
}

// unreachable builds the error for a daemon that could not be reached,
// naming the dialer's cause when there is one.
func (c *Client) unreachable(err error) error {
	if cause := c.lastErr.get(); cause != nil {
		err = cause
	}
	return &UnreachableError{Socket: c.socket, Err: err}
}

type dialError struct {
	mu  sync.Mutex
	err error
}

func (d *dialError) set(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

func (d *dialError) get() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Close closes the connection. Calls in flight fail.
func (c *Client) Close() error { return c.conn.Close() }

// Socket returns the absolute path of the daemon's socket.
func (c *Client) Socket() string { return c.socket }

// Raw returns the generated gRPC client for RPCs this package does not wrap
// (GetAssertion, WatchTokens, browser and device Login). Its errors are plain
// gRPC status errors; pass them to [FromStatus] to get [*Error] values.
func (c *Client) Raw() xaadv1.XaadServiceClient { return c.rpc }

// FromStatus converts an error from [Client.Raw] calls the way this
// package's own methods do.
func (c *Client) FromStatus(err error) error {
	err = fromRPC(err, c.socket)
	var ue *UnreachableError
	if errors.As(err, &ue) && c.lastErr.get() != nil {
		// The dialer's error ("connect: no such file or directory") says
		// more than gRPC's summary of it.
		return c.unreachable(ue.Err)
	}
	return err
}

// GetToken returns an access token for req.Resource.
func (c *Client) GetToken(ctx context.Context, req TokenRequest) (*Token, error) {
	resp, err := c.rpc.GetToken(ctx, req.proto())
	if err != nil {
		return nil, c.FromStatus(err)
	}
	return tokenFromProto(resp), nil
}

// Status returns the daemon's view of the identity and every server.
func (c *Client) Status(ctx context.Context) (*xaadv1.StatusResponse, error) {
	resp, err := c.rpc.Status(ctx, &xaadv1.StatusRequest{})
	return resp, c.FromStatus(err)
}

// ListServers returns every server the daemon knows, sorted by URL.
func (c *Client) ListServers(ctx context.Context) ([]*xaadv1.ServerStatus, error) {
	resp, err := c.rpc.ListServers(ctx, &xaadv1.ListServersRequest{})
	if err != nil {
		return nil, c.FromStatus(err)
	}
	return resp.GetServers(), nil
}

// Server describes an MCP server to register with [Client.AddServer].
type Server struct {
	// URL is the MCP server URL. Required.
	URL string
	// Scopes to request; nil means those the server advertises.
	Scopes []string
	// KeepWarm keeps the token refreshed even when no client asks for it.
	KeepWarm bool
}

// AddServer registers a server (or updates a known one) and returns its
// status.
func (c *Client) AddServer(ctx context.Context, s Server) (*xaadv1.ServerStatus, error) {
	resp, err := c.rpc.AddServer(ctx, &xaadv1.AddServerRequest{Url: s.URL, Scopes: s.Scopes, KeepWarm: s.KeepWarm})
	if err != nil {
		return nil, c.FromStatus(err)
	}
	return resp.GetServer(), nil
}

// RemoveServer forgets a user-added server and its tokens.
func (c *Client) RemoveServer(ctx context.Context, url string) error {
	_, err := c.rpc.RemoveServer(ctx, &xaadv1.RemoveServerRequest{Url: url})
	return c.FromStatus(err)
}

// Logout forgets the identity and reports whether the IdP confirmed
// revocation of the refresh token.
func (c *Client) Logout(ctx context.Context) (revoked bool, err error) {
	resp, err := c.rpc.Logout(ctx, &xaadv1.LogoutRequest{})
	if err != nil {
		return false, c.FromStatus(err)
	}
	return resp.GetRevoked(), nil
}

// LoginImport hands the daemon an ID token, and optionally an IdP refresh
// token, obtained by another tool, and returns the resulting identity.
func (c *Client) LoginImport(ctx context.Context, idToken, refreshToken string) (*xaadv1.Identity, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if we return before the daemon does
	stream, err := c.rpc.Login(ctx, &xaadv1.LoginRequest{
		Mode:         xaadv1.LoginMode_LOGIN_MODE_IMPORT,
		IdToken:      idToken,
		RefreshToken: refreshToken,
	})
	if err != nil {
		return nil, c.FromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("xaad: login stream ended without a result")
		}
		if err != nil {
			return nil, c.FromStatus(err)
		}
		if done := ev.GetDone(); done != nil {
			return done.GetIdentity(), nil
		}
	}
}
