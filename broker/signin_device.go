package broker

import (
	"context"

	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/signin"
)

// LoginDevice signs the person in with the RFC 8628 device authorization
// grant: the IdP gives a user code, the person enters it elsewhere, and the
// daemon polls at the IdP's interval, slowing down when told. Cancelling
// ctx ends the login; the stored identity changes only when it succeeds.
func (b *Broker) LoginDevice(ctx context.Context, opts LoginOptions) (IdentityInfo, error) {
	done, err := b.beginLogin()
	if err != nil {
		return IdentityInfo{}, err
	}
	defer done()
	meta, err := b.idpMetadata(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	if meta.DeviceAuthorizationEndpoint == "" {
		return IdentityInfo{}, newError(ReasonUnsupported, true, nil, "the IdP publishes no device_authorization_endpoint, so device sign-in is not possible; use the browser sign-in")
	}
	ep, err := b.idpEndpoint(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	idp := b.idpConfig()
	toks, err := signin.Device{
		Authorization: b.idpURLEndpoint(meta.DeviceAuthorizationEndpoint), Token: ep,
		Scopes: signin.Scopes(idp.Scopes, opts.ExtraScopes),
		Clock:  b.clock, Timeout: loginTimeout, Emit: opts.Emit, Log: b.log,
	}.Run(ctx)
	if err != nil {
		return IdentityInfo{}, signInError(err)
	}
	c, err := b.idVerifier().VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{})
	if err != nil {
		return IdentityInfo{}, signInIDTokenError(err)
	}
	b.adopt(c, toks.IDToken, toks.RefreshToken, "device")
	return b.Identity(), nil
}
