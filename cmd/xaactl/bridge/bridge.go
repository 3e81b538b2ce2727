package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
)

// Config says what to relay where. Endpoint, Tokens, Stdin and Stdout are
// required.
type Config struct {
	// Endpoint is the remote MCP server's Streamable HTTP URL; it is also
	// the resource the tokens are for.
	Endpoint string
	// Tokens provides the access tokens, normally a *client.Client.
	Tokens client.TokenProvider
	// Scopes to request first; nil means the server's configured or
	// advertised ones. A 403 insufficient_scope widens them.
	Scopes []string
	// Stdin and Stdout carry the local client's newline-delimited JSON-RPC.
	// Nothing but protocol messages is ever written to Stdout.
	Stdin  io.Reader
	Stdout io.Writer
	// Base makes the HTTP requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Log receives diagnostics; nil discards them. Nothing logged holds a
	// token.
	Log *slog.Logger
}

// ErrClientInput reports that the local client sent bytes that are not
// JSON-RPC; the client was told so with a JSON-RPC error before the session
// ended.
var ErrClientInput = errors.New("malformed JSON-RPC from the client")

// Run relays one session until the client closes stdin (nil), ctx ends
// (nil), or either side fails (an error). Before returning it ends the
// remote session (HTTP DELETE) and answers every request still waiting
// with a JSON-RPC error when the client can still read.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Endpoint == "" || cfg.Tokens == nil || cfg.Stdin == nil || cfg.Stdout == nil {
		return errors.New("bridge: Endpoint, Tokens, Stdin and Stdout are required")
	}
	b := newBridge(cfg)
	return b.run(ctx)
}

// bridge is one relayed session. Lock order: pending.mu only; no lock is
// held while writing to either side.
type bridge struct {
	cfg    Config
	log    *slog.Logger
	out    *lockedWriter
	http   *http.Client
	auth   *authTransport
	local  mcp.Connection
	remote mcp.Connection

	pending pending
	init    initState
	writes  sync.WaitGroup // forwarding goroutines
	streams sync.WaitGroup // the standalone SSE listener
}

func newBridge(cfg Config) *bridge {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := cfg.Base
	if base == nil {
		base = http.DefaultTransport
	}
	b := &bridge{cfg: cfg, log: log, out: &lockedWriter{w: cfg.Stdout}}
	b.auth = newAuthTransport(base, cfg.Tokens, cfg.Endpoint, cfg.Scopes, log)
	b.http = &http.Client{Transport: &versionTransport{base: b.auth, init: &b.init}, CheckRedirect: sameOriginRedirects(cfg.Endpoint)}
	b.pending.m = map[jsonrpc.ID]context.CancelFunc{}
	return b
}

// ErrRedirectRefused reports that the MCP server redirected a request to
// another origin (or from https to http), which the proxy does not follow:
// the session and its tokens belong to the endpoint's origin alone.
var ErrRedirectRefused = errors.New("redirect refused")

// sameOriginRedirects is the http.Client CheckRedirect of the proxy: it
// follows redirects within the endpoint's origin (scheme, host and port;
// so never from https to http) and refuses any other, so neither the
// request body nor anything the MCP server gave the session leaves for a
// host the proxy was not pointed at. client.Transport already withholds
// the token from other origins; this stops the request itself.
func sameOriginRedirects(endpoint string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("%w: stopped after 10 redirects", ErrRedirectRefused)
		}
		from := endpoint
		if len(via) > 0 {
			from = via[len(via)-1].URL.String()
		}
		if !client.SameOrigin(req.URL, endpoint) {
			return fmt.Errorf("%w: the MCP server redirected %s to %s, another origin than the endpoint %s; xaactl proxy follows redirects only within the endpoint's scheme, host and port (point it at the new URL if the server moved)",
				ErrRedirectRefused, redact(from), redact(req.URL.String()), redact(endpoint))
		}
		return nil
	}
}

// redact drops the query and any user info of a URL for messages: either
// may hold a secret.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func (b *bridge) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	local, err := (&mcp.IOTransport{Reader: io.NopCloser(b.cfg.Stdin), Writer: b.out}).Connect(ctx)
	if err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	remote, err := (&mcp.StreamableClientTransport{Endpoint: b.cfg.Endpoint, HTTPClient: b.http}).Connect(ctx)
	if err != nil {
		local.Close()
		return fmt.Errorf("connect to %s: %w", b.cfg.Endpoint, err)
	}
	b.local, b.remote = local, remote

	up, down := make(chan error, 1), make(chan error, 1)
	go func() { up <- b.upstream(ctx) }()
	go func() { down <- b.downstream(ctx) }()
	var runErr error
	select {
	case runErr = <-up:
		// The client left (or broke the stream): nobody reads answers now.
		b.pending.cancelAll()
		cancel()
		<-down
	case runErr = <-down:
		// The server side broke: tell the client about every open request.
		b.pending.failAll(func(id jsonrpc.ID) {
			b.reply(ctx, id, jsonrpc.CodeInternalError, fmt.Sprintf("xaactl proxy: connection to the MCP server lost: %v", runErr))
		})
		cancel()
		<-up
	}
	// Requests forwarded while the other side was stopping are cancelled
	// too, so no write waits on a server that never answers.
	b.pending.cancelAll()
	b.writes.Wait()
	b.streams.Wait()
	// Close ends the remote session with DELETE (bounded by the SDK), unless
	// the server already said the session is gone.
	if err := remote.Close(); err != nil {
		b.log.Warn("ending the remote session failed", "error", err)
	}
	local.Close()
	if runErr == nil {
		b.log.Debug("session ended")
	}
	return runErr
}

// upstream forwards the client's messages to the server until stdin ends.
func (b *bridge) upstream(ctx context.Context) error {
	for {
		msg, err := b.local.Read(ctx)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) || ctx.Err() != nil:
			b.log.Debug("the client closed stdin")
			return nil
		default:
			// The SDK's stdio reader cannot resynchronise after bytes that are
			// not JSON, so the session ends, as an SDK stdio server's would;
			// the client at least learns why (JSON-RPC 2.0 §5.1: id null).
			b.out.writeRaw(parseErrorLine(err))
			b.log.Error("malformed JSON-RPC from the client; ending the session", "error", err)
			return fmt.Errorf("%w: %v", ErrClientInput, err)
		}
		b.forward(ctx, msg)
	}
}

// forward sends one client message to the server. Each message gets its own
// goroutine, because the SDK's Write returns only once the server answers
// with headers, and a slow tool call must not hold up the messages behind
// it (a cancellation, say). Order is kept by waiting until the request is
// on the wire before reading the next message.
func (b *bridge) forward(ctx context.Context, msg jsonrpc.Message) {
	reqCtx := ctx
	var cancelled *jsonrpc.ID
	if req, ok := msg.(*jsonrpc.Request); ok {
		req.Params = addEMACapability(req.Method, req.Params)
		if req.Method == methodInitialize && req.IsCall() {
			b.init.setRequest(req.ID)
		}
		if req.IsCall() {
			reqCtx = b.pending.add(ctx, req.ID)
		}
		if id, ok := cancelledRequest(req); ok {
			cancelled = &id
		}
	}
	sent := make(chan struct{})
	var once sync.Once
	onWire := func() { once.Do(func() { close(sent) }) }
	traced := httptrace.WithClientTrace(reqCtx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { onWire() },
	})
	b.writes.Add(1)
	go func() {
		defer b.writes.Done()
		defer onWire()
		if err := b.remote.Write(traced, msg); err != nil {
			b.writeFailed(ctx, msg, err)
		}
	}()
	select {
	case <-sent:
	case <-ctx.Done():
	}
	if cancelled != nil {
		// After forwarding the cancellation: stop waiting for the answer.
		b.pending.cancel(*cancelled)
	}
}

// writeFailed reports a message the server never got. A request gets a
// JSON-RPC error, carrying the server's own error when it sent one.
func (b *bridge) writeFailed(ctx context.Context, msg jsonrpc.Message, err error) {
	req, ok := msg.(*jsonrpc.Request)
	if !ok || !req.IsCall() {
		b.log.Warn("message to the MCP server not delivered", "error", err)
		return
	}
	if !b.pending.done(req.ID) {
		return // the client cancelled it, or the session is ending
	}
	b.log.Warn("request to the MCP server failed", "method", req.Method, "error", err)
	var werr *jsonrpc.Error
	if errors.As(err, &werr) && !sdkRejection(werr) {
		b.replyError(ctx, req.ID, werr)
		return
	}
	b.reply(ctx, req.ID, jsonrpc.CodeInternalError, "xaactl proxy: "+err.Error())
}

// sdkRejection reports whether e is the go-sdk's own marker for a request
// that never reached the server (jsonrpc2.ErrRejected, wrapped around the
// real cause, such as a refused redirect); its text alone would hide why.
// A server's own error is found before it in the chain.
func sdkRejection(e *jsonrpc.Error) bool {
	return e.Code == -32005 && e.Message == "rejected by transport"
}

// downstream forwards the server's messages to the client.
func (b *bridge) downstream(ctx context.Context) error {
	for {
		msg, err := b.remote.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Error("connection to the MCP server lost", "error", err)
			return fmt.Errorf("MCP server %s: %w", b.cfg.Endpoint, err)
		}
		if resp, ok := msg.(*jsonrpc.Response); ok {
			b.pending.done(resp.ID)
			if b.init.isResponse(resp) {
				b.sessionStarted(ctx, resp)
			}
		}
		if err := b.local.Write(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("write to the client: %w", err)
		}
	}
}

// sessionStarted does what the SDK's client does after initialize but
// cannot be asked to do for a relay (go-sdk #657): remember the protocol
// version for the Mcp-Protocol-Version header and, for versions that have
// one, open the standalone stream of server-initiated messages.
func (b *bridge) sessionStarted(ctx context.Context, resp *jsonrpc.Response) {
	version := b.init.setResult(resp)
	if version == "" || version >= protocolStateless {
		return
	}
	l := &listener{http: b.http, url: b.cfg.Endpoint, session: b.remote.SessionID(), log: b.log, deliver: b.deliver}
	b.streams.Add(1)
	go func() {
		defer b.streams.Done()
		l.run(ctx)
	}()
}

// deliver passes a server-initiated message to the client.
func (b *bridge) deliver(ctx context.Context, msg jsonrpc.Message) error {
	return b.local.Write(ctx, msg)
}

func (b *bridge) reply(ctx context.Context, id jsonrpc.ID, code int64, message string) {
	b.replyError(ctx, id, &jsonrpc.Error{Code: code, Message: message})
}

func (b *bridge) replyError(ctx context.Context, id jsonrpc.ID, werr *jsonrpc.Error) {
	// The session context may be ending; the answer is still owed.
	if err := b.local.Write(context.WithoutCancel(ctx), &jsonrpc.Response{ID: id, Error: werr}); err != nil {
		b.log.Debug("answer to the client not delivered", "error", err)
	}
}
