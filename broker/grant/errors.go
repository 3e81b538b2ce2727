package grant

import (
	"errors"
	"fmt"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// OAuthError is an error answer of a token endpoint (RFC 6749 §5.2).
type OAuthError struct {
	// Endpoint names the call, for example "token exchange at https://idp/token".
	Endpoint string
	// Status is the HTTP status code.
	Status int
	// Code is the "error" member; empty when the server sent none.
	Code        string
	Description string
	URI         string
	// MaxAge and ACRValues carry step-up hints sent with
	// insufficient_user_authentication (RFC 9470 §3).
	MaxAge    string
	ACRValues string
	// Retry is when a 429 or 503 answer allows the next request; zero
	// when it named no usable time.
	Retry upstream.Hint
}

func (e *OAuthError) Error() string {
	code := e.Code
	if code == "" {
		code = "no OAuth error code"
	}
	s := fmt.Sprintf("%s: HTTP %d: %s", e.Endpoint, e.Status, code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if !e.Retry.IsZero() {
		s += " (" + e.Retry.String() + ")"
	}
	return s
}

// Transient reports whether the error is worth retrying later: a 5xx answer
// or the codes RFC 6749 defines for server trouble.
func (e *OAuthError) Transient() bool {
	return e.Status >= 500 || e.Code == "server_error" || e.Code == "temporarily_unavailable" || e.Status == 429
}

// ErrMalformed reports a response that is not a valid answer of the profile:
// garbage JSON, wrong types, missing or wrong required members.
var ErrMalformed = errors.New("malformed token endpoint response")

// ErrRejectedToken reports an issued token that does not match what was asked
// (wrong typ, aud or resource); it is discarded and never used.
var ErrRejectedToken = errors.New("issued token does not match the request")

// ErrRedirect reports a token endpoint that answered with a redirect. Token
// requests carry credentials, so redirects are never followed.
var ErrRedirect = errors.New("token endpoint redirected; redirects are refused")
