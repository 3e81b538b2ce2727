package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
)

// Polling bounds of the device flow. RFC 8628 §3.5: slow_down adds 5 s to
// the interval for this and every later request.
const (
	deviceSlowDown    = 5 * time.Second
	deviceMinInterval = time.Second // an IdP saying 0 must not make xaad hammer it
	deviceMaxInterval = time.Minute
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
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()

	meta, err := b.idpMetadata(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	if meta.DeviceAuthorizationEndpoint == "" {
		return IdentityInfo{}, newError(ReasonUnsupported, true, nil, "the IdP publishes no device_authorization_endpoint, so device sign-in is not possible; use the browser sign-in")
	}
	idp := b.idpConfig()
	da, err := grant.DeviceAuthorization(ctx, b.idpURLEndpoint(meta.DeviceAuthorizationEndpoint), signInScopes(idp.Scopes, opts.ExtraScopes))
	if err != nil {
		return IdentityInfo{}, signInGrantError(err, "the IdP refused the device authorization")
	}
	interval := min(max(da.Interval, deviceMinInterval), deviceMaxInterval)
	opts.emit(LoginEvent{Device: &DeviceCode{
		UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		ExpiresAt: da.ExpiresAt, Interval: interval,
	}})
	opts.emit(LoginEvent{Progress: "waiting for the code to be entered"})
	b.log.Info("device sign-in started", slog.Time("code_expires", da.ExpiresAt), slog.Duration("interval", interval))

	ep, err := b.idpEndpoint(ctx)
	if err != nil {
		return IdentityInfo{}, err
	}
	for {
		if !b.now().Before(da.ExpiresAt) {
			return IdentityInfo{}, deviceExpired()
		}
		if !b.sleep(ctx, interval) {
			return IdentityInfo{}, loginCtxError(ctx, "the device sign-in")
		}
		toks, err := grant.DeviceToken(ctx, ep, da.DeviceCode)
		if err == nil {
			c, err := b.idVerifier().VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{})
			if err != nil {
				return IdentityInfo{}, signInIDTokenError(err)
			}
			b.adopt(c, toks.IDToken, toks.RefreshToken, "device")
			return b.Identity(), nil
		}
		var oe *grant.OAuthError
		switch {
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval = min(interval+deviceSlowDown, deviceMaxInterval)
			opts.emit(LoginEvent{Progress: fmt.Sprintf("the IdP asked xaad to poll more slowly; now every %s", interval)})
		case errors.As(err, &oe) && oe.Code == "access_denied":
			return IdentityInfo{}, newError(ReasonIdPDenied, true, err, "the sign-in was denied at the IdP")
		case errors.As(err, &oe) && oe.Code == "expired_token":
			return IdentityInfo{}, deviceExpired()
		case ctx.Err() != nil:
			return IdentityInfo{}, loginCtxError(ctx, "the device sign-in")
		case errors.As(err, &oe) && !oe.Transient():
			return IdentityInfo{}, signInGrantError(err, "the IdP refused the device code")
		default:
			// RFC 8628 §3.5: back off on connection trouble and keep polling.
			interval = min(2*interval, deviceMaxInterval)
			b.log.Warn("device sign-in poll failed; polling more slowly", slog.String("error", err.Error()), slog.Duration("interval", interval))
		}
	}
}

func deviceExpired() error {
	return newError(ReasonLoginRequired, true, nil, "the code expired before it was entered; run `xaactl login --device` again")
}

// sleep waits d on the broker's clock; false means ctx ended first.
func (b *Broker) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-b.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
