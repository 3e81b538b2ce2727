package grant

import (
	"errors"
	"net/http"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// withRetry records on an error answer what a 429 or 503 says about when
// to come back (RFC 9110 §10.2.3 Retry-After, or X-Rate-Limit-Reset), read
// against the time the answer was received, so the broker can hold every
// call to the endpoint until then. Other errors pass unchanged.
func withRetry(err error, h http.Header, received time.Time) error {
	var oe *OAuthError
	if errors.As(err, &oe) {
		oe.Retry = upstream.ParseRetry(oe.Status, h, received, upstream.MaxHold)
	}
	return err
}

// Answer returns the HTTP status and the retry hint of the answer; it makes
// an *OAuthError an [upstream.Answered], which [upstream.Gate.ObserveError]
// reads.
func (e *OAuthError) Answer() (int, upstream.Hint) { return e.Status, e.Retry }
