package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// LoginEvent is something a running login wants shown to the person.
// Exactly one field is set.
type LoginEvent struct {
	// OpenURL is the IdP authorization URL to open in a browser.
	OpenURL string
	// Device is the code to enter at the IdP (device flow).
	Device *DeviceCode
	// Progress is a sentence to show while the login waits.
	Progress string
}

// DeviceCode is an RFC 8628 user code and where to enter it.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	Interval                time.Duration
}

// LoginOptions shape a browser or device login.
type LoginOptions struct {
	// ExtraScopes are requested besides openid, offline_access and the
	// configured IdP scopes.
	ExtraScopes []string
	// Emit receives the login's events in order; nil drops them. It must
	// not block for long.
	Emit func(LoginEvent)
}

func (o LoginOptions) emit(ev LoginEvent) {
	if o.Emit != nil {
		o.Emit(ev)
	}
}

// LoginBrowser signs the person in with the OIDC authorization code flow:
// PKCE S256, state and nonce (EMA §7.5.2-7.5.3), and a redirect to a
// loopback listener on 127.0.0.1 with a random port that lives as long as
// the login (RFC 8252 §7.3, §8.3). The browser lands on a page that says
// whether sign-in worked. A step-up the IdP demanded (max_age, acr_values)
// is sent along. Cancelling ctx ends the login; the stored identity
// changes only when it succeeds.
func (b *Broker) LoginBrowser(ctx context.Context, opts LoginOptions) (IdentityInfo, error) {
	done, err := b.beginLogin()
	if err != nil {
		return IdentityInfo{}, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()

	meta, err := b.idpMetadata(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	if meta.AuthorizationEndpoint == "" {
		return IdentityInfo{}, newError(ReasonUnsupported, true, nil, "the IdP publishes no authorization_endpoint, so browser sign-in is not possible; try `xaactl login --device`")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return IdentityInfo{}, newError(ReasonInternal, false, err, "cannot open the loopback listener for the sign-in redirect")
	}
	req := authRequest{
		redirectURI: "http://" + ln.Addr().String() + "/callback",
		state:       randomString(32), nonce: randomString(32), verifier: randomString(32),
	}
	step := b.Identity()
	req.maxAge, req.acr = step.MaxAge, step.ACRValues
	idp := b.idpConfig()
	authURL, err := req.url(meta.AuthorizationEndpoint, idp.Auth.ClientID, signInScopes(idp.Scopes, opts.ExtraScopes))
	if err != nil {
		ln.Close()
		return IdentityInfo{}, newError(ReasonConfig, true, err, "the IdP's authorization_endpoint is unusable")
	}

	cb := newCallbackServer(idp.Issuer, req.state)
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	defer func() {
		close(cb.done)
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = srv.Shutdown(sctx) // lets the result page finish
		scancel()
		_ = srv.Close()
		<-served
	}()

	b.log.Info("browser sign-in started", slog.String("redirect_uri", req.redirectURI), slog.Bool("step_up", req.maxAge != "" || req.acr != ""))
	opts.emit(LoginEvent{OpenURL: authURL})
	opts.emit(LoginEvent{Progress: "waiting for you to sign in in the browser"})
	select {
	case res := <-cb.results:
		info, err := b.finishBrowser(ctx, res, req)
		res.reply <- resultPage(info, err)
		return info, err
	case <-ctx.Done():
		return IdentityInfo{}, loginCtxError(ctx, "the browser sign-in")
	}
}

// authRequest is one authorization request's secrets and step-up.
type authRequest struct {
	redirectURI, state, nonce, verifier string
	maxAge, acr                         string
}

// url builds the authorization request URL (OIDC Core §3.1.2.1, RFC 7636
// §4.3), keeping any query the endpoint already has.
func (r authRequest) url(endpoint, clientID string, scopes []string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", r.redirectURI)
	q.Set("scope", strings.Join(scopes, " "))
	q.Set("state", r.state)
	q.Set("nonce", r.nonce)
	q.Set("code_challenge", pkceChallenge(r.verifier))
	q.Set("code_challenge_method", "S256")
	if r.maxAge != "" {
		q.Set("max_age", r.maxAge)
	}
	if r.acr != "" {
		q.Set("acr_values", r.acr)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// finishBrowser turns the callback into an identity: the code is redeemed
// with the PKCE verifier and the ID token must carry the nonce.
func (b *Broker) finishBrowser(ctx context.Context, res callbackResult, req authRequest) (IdentityInfo, error) {
	if res.err != nil {
		return IdentityInfo{}, res.err
	}
	ep, err := b.idpEndpoint(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	toks, err := grant.AuthorizationCode(ctx, ep, res.code, req.redirectURI, req.verifier)
	if err != nil {
		return IdentityInfo{}, signInGrantError(err, "the IdP refused the authorization code")
	}
	c, err := b.idVerifier().VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{Nonce: req.nonce, MaxAge: req.maxAge})
	if err != nil {
		return IdentityInfo{}, signInIDTokenError(err)
	}
	b.adopt(c, toks.IDToken, toks.RefreshToken, "browser")
	return b.Identity(), nil
}

// signInGrantError classifies a refused sign-in grant.
func signInGrantError(err error, msg string) error {
	var oe *grant.OAuthError
	if errors.As(err, &oe) && oe.Transient() {
		return newError(ReasonUpstreamUnavailable, false, err, "the IdP is unavailable; try again later")
	}
	if errors.As(err, &oe) {
		if oe.Code == "invalid_client" || oe.Code == "unauthorized_client" {
			return newError(ReasonIdPDenied, true, err, "the IdP rejected xaad's client; check the [idp] section of the config")
		}
		return newError(ReasonIdPDenied, true, err, "%s", msg)
	}
	return classifyTransport(err, "the IdP")
}

// signInIDTokenError classifies an ID token from a sign-in that fails
// verification: the sign-in is refused and the old identity stays.
func signInIDTokenError(err error) error {
	if errors.Is(err, idtoken.ErrInvalid) || errors.Is(err, idtoken.ErrExpired) {
		return newError(ReasonIdPDenied, true, err, "the IdP's ID token fails verification; sign-in refused")
	}
	return newError(ReasonUpstreamUnavailable, false, err, "cannot verify the IdP's ID token now")
}

// loginCtxError says why a login ended early.
func loginCtxError(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return newError(ReasonUpstreamUnavailable, false, ctx.Err(), "%s did not finish within %s; run `xaactl login` again", what, loginTimeout)
	}
	return fmt.Errorf("%s was cancelled: %w", what, ctx.Err())
}

// authorizationError is an RFC 6749 §4.1.2.1 error on the redirect.
func authorizationError(code, desc string) error {
	msg := "the IdP refused the sign-in: " + httpx.Clip(code)
	if desc != "" {
		msg += ": " + httpx.Clip(desc)
	}
	return newError(ReasonIdPDenied, true, nil, "%s", msg)
}
