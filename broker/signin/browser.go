package signin

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// Browser is one OpenID Connect authorization code sign-in (OIDC Core
// §3.1) through the person's browser: PKCE S256, state and nonce, and a
// redirect to a loopback listener on 127.0.0.1 with a random port that
// lives as long as the sign-in (RFC 8252 §7.3, §8.3).
type Browser struct {
	// AuthorizationEndpoint is the IdP's authorization_endpoint.
	AuthorizationEndpoint string
	// Issuer is the IdP's issuer: a redirect naming another is refused
	// (RFC 9207 §2.4).
	Issuer   string
	ClientID string
	// Scopes are sent as they are; see [Scopes].
	Scopes []string
	// MaxAge and ACRValues are a step-up the IdP demanded (RFC 9470 §3);
	// empty for none.
	MaxAge, ACRValues string
	// Prompt is the prompt parameter (OIDC Core §3.1.2.1: space-separated
	// values such as consent); empty sends none.
	Prompt string
	// Clock runs the Timeout; nil means the system clock.
	Clock clock.Clock
	// Timeout bounds the whole sign-in, so a person who walked away cannot
	// hold it for ever; zero means ctx alone bounds it.
	Timeout time.Duration
	// Emit receives the sign-in's events in order; nil drops them. It
	// must not block for long.
	Emit func(Event)
	// Log receives a line when the sign-in starts; nil discards it.
	Log *slog.Logger
}

// Callback is the authorization code the redirect brought back, with what
// redeeming it (RFC 7636 §4.5) and checking its ID token need.
type Callback struct {
	Code        string
	RedirectURI string
	// Verifier is the PKCE code_verifier.
	Verifier string
	// Nonce is the nonce the ID token must carry (OIDC Core §3.1.3.7).
	Nonce string
	// MaxAge is the max_age sent; the ID token's auth_time must honour it.
	MaxAge string
	// Prompt is the prompt sent.
	Prompt string
}

// Person names whom a sign-in signed in, for the result page.
type Person struct {
	Subject, Issuer string
}

// Finish redeems a callback's code and adopts the sign-in. Its outcome is
// what the browser's result page shows.
type Finish func(ctx context.Context, cb Callback) (Person, error)

// Run opens the listener, emits the authorization URL for the person to
// open, waits for the redirect and hands its code to finish. It returns
// finish's error as it is, an [*Error] for a redirect that was refused or
// a sign-in that timed out, or an error wrapping ctx's when ctx ended it.
func (b Browser) Run(ctx context.Context, finish Finish) error {
	ctx, stop := withTimeout(ctx, clock.OrSystem(b.Clock), b.Timeout)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return &Error{Kind: Listener, Msg: "cannot open the loopback listener for the sign-in redirect", Err: err}
	}
	req := newAuthRequest("http://"+ln.Addr().String()+"/callback", b.MaxAge, b.ACRValues)
	req.prompt = b.Prompt
	authURL, err := req.url(b.AuthorizationEndpoint, b.ClientID, b.Scopes)
	if err != nil {
		ln.Close()
		return &Error{Kind: BadEndpoint, Msg: "the IdP's authorization_endpoint is unusable", Err: err}
	}
	cb := newCallbackServer(b.Issuer, req.state)
	stopServing := serve(ctx, ln, cb)
	defer stopServing()

	logger(b.Log).Info("browser sign-in started", slog.String("redirect_uri", req.redirectURI), slog.Bool("step_up", req.maxAge != "" || req.acr != ""))
	emit := emitter(b.Emit)
	emit.emit(Event{OpenURL: authURL})
	emit.emit(Event{Progress: "waiting for you to sign in in the browser"})
	select {
	case res := <-cb.results:
		p, err := complete(ctx, res, req, finish)
		res.reply <- resultPage(p, err)
		return err
	case <-ctx.Done():
		return ctxError(ctx, "the browser sign-in", b.Timeout)
	}
}

// complete turns a redirect into the caller's finish.
func complete(ctx context.Context, res callbackResult, req authRequest, finish Finish) (Person, error) {
	if res.err != nil {
		return Person{}, res.err
	}
	return finish(ctx, Callback{Code: res.code, RedirectURI: req.redirectURI, Verifier: req.verifier, Nonce: req.nonce, MaxAge: req.maxAge, Prompt: req.prompt})
}

// serve runs the callback server on ln until the returned stop, which
// releases waiting handlers and lets a result page finish.
func serve(ctx context.Context, ln net.Listener, cb *callbackServer) (stop func()) {
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	return func() {
		close(cb.done)
		// Real time, not the injected clock: this bounds network I/O (a
		// browser slow to read its page), as HTTP timeouts do.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
		_ = srv.Close()
		<-served
	}
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
