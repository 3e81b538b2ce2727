package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// Kind says what ended a sign-in, for the caller to classify.
type Kind int

// The kinds of [Error].
const (
	// Refused: the IdP refused the sign-in (an error on the redirect,
	// access_denied on a device poll), or its redirect must not be
	// trusted (another issuer, no code).
	Refused Kind = iota + 1
	// Expired: the device code expired before the person entered it.
	Expired
	// TimedOut: the sign-in did not finish within its Timeout.
	TimedOut
	// Grant: a request to the IdP failed; Err is the grant package's
	// error (a *grant.OAuthError or a transport failure) and Msg names
	// the step.
	Grant
	// BadEndpoint: the authorization endpoint cannot be made into a URL.
	BadEndpoint
	// Listener: the loopback listener for the redirect could not be opened.
	Listener
)

// Error is a sign-in that failed. Its message is safe to show: it names
// OAuth error codes and endpoints, never a code, token or secret.
type Error struct {
	Kind Kind
	// Msg says what failed and, where there is one, what to do next.
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// authorizationError is an RFC 6749 §4.1.2.1 error on the redirect.
func authorizationError(code, desc string) *Error {
	msg := "the IdP refused the sign-in: " + httpx.Clip(code)
	if desc != "" {
		msg += ": " + httpx.Clip(desc)
	}
	return &Error{Kind: Refused, Msg: msg}
}

// ctxError says why a sign-in ended early: its deadline (or the caller's)
// passed, or it was cancelled, which is no Error but ctx's own.
func ctxError(ctx context.Context, what string, timeout time.Duration) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return &Error{Kind: TimedOut, Err: context.DeadlineExceeded,
			Msg: fmt.Sprintf("%s did not finish within %s; run `xaactl login` again", what, timeout)}
	}
	return fmt.Errorf("%s was cancelled: %w", what, ctx.Err())
}
