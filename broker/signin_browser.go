package broker

import (
	"context"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/signin"
)

// LoginEvent is something a running login wants shown to the person.
// Exactly one field is set.
type LoginEvent = signin.Event

// DeviceCode is an RFC 8628 user code and where to enter it.
type DeviceCode = signin.DeviceCode

// LoginOptions shape a browser or device login.
type LoginOptions struct {
	// ExtraScopes are requested besides openid, offline_access and the
	// configured IdP scopes.
	ExtraScopes []string
	// Emit receives the login's events in order; nil drops them. It must
	// not block for long.
	Emit func(LoginEvent)
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
	meta, err := b.idpMetadata(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	if meta.AuthorizationEndpoint == "" {
		return IdentityInfo{}, newError(ReasonUnsupported, true, nil, "the IdP publishes no authorization_endpoint, so browser sign-in is not possible; try `xaactl login --device`")
	}
	idp := b.idpConfig()
	step := b.Identity()
	var info IdentityInfo
	finish := func(ctx context.Context, cb signin.Callback) (signin.Person, error) {
		var ferr error
		info, ferr = b.finishBrowser(ctx, cb)
		if ferr == nil {
			b.learnPrompt(meta, cb.Prompt, info.HasRefreshToken)
			info = b.Identity()
		}
		return signin.Person{Subject: info.Subject, Issuer: info.Issuer}, ferr
	}
	err = signin.Browser{
		AuthorizationEndpoint: meta.AuthorizationEndpoint, Issuer: idp.Issuer, ClientID: idp.Auth.ClientID,
		Scopes: signin.Scopes(idp.Scopes, opts.ExtraScopes), MaxAge: step.MaxAge, ACRValues: step.ACRValues,
		Prompt: b.browserPrompt(idp.Prompt),
		Clock:  b.clock, Timeout: loginTimeout, Emit: opts.Emit, Log: b.log,
	}.Run(ctx, finish)
	if err != nil {
		return IdentityInfo{}, signInError(err)
	}
	return info, nil
}

// finishBrowser turns the redirect into an identity: the code is redeemed
// with the PKCE verifier and the ID token must carry the nonce.
func (b *Broker) finishBrowser(ctx context.Context, cb signin.Callback) (IdentityInfo, error) {
	ep, err := b.idpEndpoint(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	toks, err := grant.AuthorizationCode(ctx, ep, cb.Code, cb.RedirectURI, cb.Verifier)
	if err != nil {
		return IdentityInfo{}, signInGrantError(err, "the IdP refused the authorization code")
	}
	c, err := b.idVerifier().VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{Nonce: cb.Nonce, MaxAge: cb.MaxAge})
	if err != nil {
		return IdentityInfo{}, signInIDTokenError(err)
	}
	b.adopt(c, toks.IDToken, toks.RefreshToken, "browser")
	return b.Identity(), nil
}
