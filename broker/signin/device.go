package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/clock"
)

// Polling bounds of the device flow. RFC 8628 §3.5: slow_down adds 5 s to
// the interval for this and every later request.
const (
	deviceSlowDown    = 5 * time.Second
	deviceMinInterval = time.Second // an IdP saying 0 must not make xaad hammer it
	deviceMaxInterval = time.Minute
)

// Device is one RFC 8628 device authorization sign-in: the IdP gives a
// user code, the person enters it elsewhere, and Run polls the token
// endpoint at the IdP's interval, slowing down when told.
type Device struct {
	// Authorization is the IdP's device_authorization_endpoint.
	Authorization *grant.Endpoint
	// Token is the IdP's token endpoint, which the device code is polled at.
	Token *grant.Endpoint
	// Scopes are sent as they are; see [Scopes].
	Scopes []string
	// Clock runs the polling, the code's expiry and the Timeout; nil
	// means the system clock. The endpoints' Now should be its Now.
	Clock clock.Clock
	// Timeout bounds the whole sign-in; zero means ctx alone bounds it.
	Timeout time.Duration
	// Emit receives the sign-in's events in order; nil drops them. It
	// must not block for long.
	Emit func(Event)
	// Log receives the start and failed polls; nil discards them.
	Log *slog.Logger
}

// Run starts the device authorization, emits the code and polls until the
// IdP issues tokens, which it returns unverified. It fails with an
// [*Error] when the IdP refuses, the code expires or the Timeout passes,
// or with an error wrapping ctx's when ctx ended it.
func (d Device) Run(ctx context.Context) (*grant.OIDCTokens, error) {
	clk := clock.OrSystem(d.Clock)
	ctx, stop := withTimeout(ctx, clk, d.Timeout)
	defer stop()
	da, err := grant.DeviceAuthorization(ctx, d.Authorization, d.Scopes)
	if err != nil {
		return nil, &Error{Kind: Grant, Msg: "the IdP refused the device authorization", Err: err}
	}
	interval := min(max(da.Interval, deviceMinInterval), deviceMaxInterval)
	emit := emitter(d.Emit)
	emit.emit(Event{Device: &DeviceCode{
		UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		ExpiresAt: da.ExpiresAt, Interval: interval,
	}})
	emit.emit(Event{Progress: "waiting for the code to be entered"})
	logger(d.Log).Info("device sign-in started", slog.Time("code_expires", da.ExpiresAt), slog.Duration("interval", interval))
	for {
		if !clk.Now().Before(da.ExpiresAt) {
			return nil, deviceExpired()
		}
		if !sleep(ctx, clk, interval) {
			return nil, ctxError(ctx, "the device sign-in", d.Timeout)
		}
		toks, err := grant.DeviceToken(ctx, d.Token, da.DeviceCode)
		if err == nil {
			return toks, nil
		}
		if interval, err = d.next(ctx, interval, err); err != nil {
			return nil, err
		}
	}
}

// next reads a refused poll: the interval to wait before the next one,
// or the error that ends the sign-in (RFC 8628 §3.5).
func (d Device) next(ctx context.Context, interval time.Duration, err error) (time.Duration, error) {
	var oe *grant.OAuthError
	isOAuth := errors.As(err, &oe)
	switch {
	case isOAuth && oe.Code == "authorization_pending":
		return interval, nil
	case isOAuth && oe.Code == "slow_down":
		interval = min(interval+deviceSlowDown, deviceMaxInterval)
		emitter(d.Emit).emit(Event{Progress: fmt.Sprintf("the IdP asked xaad to poll more slowly; now every %s", interval)})
		return interval, nil
	case isOAuth && oe.Code == "access_denied":
		return 0, &Error{Kind: Refused, Msg: "the sign-in was denied at the IdP", Err: err}
	case isOAuth && oe.Code == "expired_token":
		return 0, deviceExpired()
	case ctx.Err() != nil:
		return 0, ctxError(ctx, "the device sign-in", d.Timeout)
	case isOAuth && !oe.Transient():
		return 0, &Error{Kind: Grant, Msg: "the IdP refused the device code", Err: err}
	}
	// RFC 8628 §3.5: back off on connection trouble and keep polling.
	interval = min(2*interval, deviceMaxInterval)
	logger(d.Log).Warn("device sign-in poll failed; polling more slowly", slog.String("error", err.Error()), slog.Duration("interval", interval))
	return interval, nil
}

func deviceExpired() *Error {
	return &Error{Kind: Expired, Msg: "the code expired before it was entered; run `xaactl login --device` again"}
}

// sleep waits d on c; false means ctx ended first.
func sleep(ctx context.Context, c clock.Clock, d time.Duration) bool {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}
