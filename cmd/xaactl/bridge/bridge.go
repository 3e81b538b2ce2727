package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
)

// Config says what to relay where. Endpoint, Tokens, Stdin and Stdout are
// required.
type Config struct {
	// Endpoint is the remote MCP server's Streamable HTTP URL; it is also
	// the resource the tokens are for.
	Endpoint string
	// Tokens provides the access tokens, normally a *client.Client. For
	// DPoP-bound tokens it must also be a client.ProofSigner (a
	// *client.Client is): the daemon signs each request's proof.
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
	// Clock times the token cache; nil means the system clock.
	Clock clock.Clock
	// MaxMessage caps one JSON-RPC message either way; 0 means
	// DefaultMaxMessage.
	MaxMessage int
}

// Run relays one session until the client closes stdin (nil) or ctx ends
// (nil); it returns an error only when stdin fails. Failures of the MCP
// server or of the daemon fail the request they hit, with a JSON-RPC error
// that says what is wrong and how to fix it, and the session goes on.
// Before returning it ends the remote session (HTTP DELETE); when ctx
// ended, it first answers every request still waiting.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Endpoint == "" || cfg.Tokens == nil || cfg.Stdin == nil || cfg.Stdout == nil {
		return errors.New("bridge: Endpoint, Tokens, Stdin and Stdout are required")
	}
	return newBridge(cfg).run(ctx)
}

// bridge is one relayed session. Locks (pending.mu, session.mu, tools.mu,
// out.mu) are leaves: none is held while taking another or while doing
// I/O other than out's own write.
type bridge struct {
	cfg  Config
	log  *slog.Logger
	out  *output
	http *http.Client
	max  int
	clk  clock.Clock
	ctx  context.Context // the session's; set by run

	pending pending
	sess    session
	tools   toolTable
	seq     atomic.Int64 // the ids the server sees
	work    sync.WaitGroup
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
	max := cfg.MaxMessage
	if max <= 0 {
		max = DefaultMaxMessage
	}
	b := &bridge{cfg: cfg, log: log, out: &output{w: cfg.Stdout}, max: max, clk: clock.OrSystem(cfg.Clock), ctx: context.Background()}
	b.http = &http.Client{
		Transport:     newAuthTransport(base, cfg, log),
		CheckRedirect: sameOriginRedirects(cfg.Endpoint),
	}
	b.pending.init(maxInFlight)
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
	b.ctx = ctx
	lines := make(chan clientLine)
	// The reader may stay blocked on stdin after run returns (a read
	// cannot be interrupted); it exits when stdin closes.
	go readLines(ctx, b.cfg.Stdin, b.max, lines)
	var runErr error
	for running := true; running; {
		select {
		case <-ctx.Done():
			// Stopped from outside while the client still reads: answer
			// what waits, so it is not left hanging.
			for _, c := range b.pending.closeAll() {
				c.cancel()
				b.answerError(c.id, proxyError("xaactl proxy is shutting down", nil))
			}
			running = false
		case l := <-lines:
			switch {
			case errors.Is(l.err, io.EOF):
				b.log.Debug("the client closed stdin")
				running = false
			case l.err != nil:
				runErr = fmt.Errorf("reading the client's messages: %w", l.err)
				running = false
			default:
				b.fromClient(ctx, l.line, l.tooLong)
			}
		}
	}
	// The client left (or we were stopped): nothing in flight is wanted.
	for _, c := range b.pending.closeAll() {
		c.cancel()
	}
	cancel()
	b.work.Wait()
	b.endSession()
	return runErr
}

// go runs f as part of the session's work, which run waits for.
func (b *bridge) spawn(f func()) {
	b.work.Add(1)
	go func() {
		defer b.work.Done()
		f()
	}()
}
