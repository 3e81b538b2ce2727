package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// Reason classifies an error for callers and for the API. The values are
// the API's reason names.
type Reason string

// Reasons.
const (
	ReasonLoginRequired       Reason = "LOGIN_REQUIRED"
	ReasonServerNotAllowed    Reason = "SERVER_NOT_ALLOWED"
	ReasonDiscoveryFailed     Reason = "DISCOVERY_FAILED"
	ReasonIdPDenied           Reason = "IDP_DENIED"
	ReasonASDenied            Reason = "AS_DENIED"
	ReasonUpstreamUnavailable Reason = "UPSTREAM_UNAVAILABLE"
	ReasonInvalidArgument     Reason = "INVALID_ARGUMENT"
	ReasonConfig              Reason = "CONFIG"
	ReasonNotFound            Reason = "SERVER_NOT_FOUND"
	ReasonInternal            Reason = "INTERNAL"
	// ReasonLimitExceeded: one of xaad's bounds (docs/limits.md) is
	// reached; the message names it and its value.
	ReasonLimitExceeded Reason = "LIMIT_EXCEEDED"
)

// Error is a broker failure with its class. Its message is safe to show to
// the local caller: it names endpoints and OAuth error codes, never tokens.
type Error struct {
	Reason Reason
	// Msg says what failed and, where there is one, what to do next.
	Msg string
	Err error
	// Permanent reports that retrying cannot help until configuration,
	// sign-in or an explicit force changes something.
	Permanent bool
}

// MaxErrorText bounds the text of an [Error], and so what a server's
// status keeps and shows of its last failure: upstream servers supply much
// of that text (endpoint URLs from metadata, error descriptions), and each
// server's error travels in every Status reply.
const MaxErrorText = 1024

// Error returns the message: at most [MaxErrorText] bytes (longer text is
// cut on a rune boundary and ends with a marker), valid UTF-8, and without
// control characters, whatever upstream text went into it.
func (e *Error) Error() string {
	return httpx.ClipTo(e.text(), MaxErrorText)
}

func (e *Error) text() string {
	if e.Err == nil {
		return e.Msg
	}
	if e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of err, ReasonInternal for unclassified errors.
func ReasonOf(err error) Reason {
	var be *Error
	if errors.As(err, &be) {
		return be.Reason
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ReasonUpstreamUnavailable
	}
	return ReasonInternal
}

func newError(r Reason, permanent bool, err error, format string, args ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, args...), Err: err, Permanent: permanent}
}

// classifyDiscovery turns a discovery failure into an Error.
func classifyDiscovery(err error) *Error {
	if errors.Is(err, discovery.ErrInvalid) {
		// Not permanent: a misconfigured server is fixed on the server's
		// side, so it is retried with backoff like an outage.
		return newError(ReasonDiscoveryFailed, false, err, "discovery failed")
	}
	return newError(ReasonUpstreamUnavailable, false, err, "discovery failed")
}

// classifyIdP classifies a token exchange failure at the IdP (docs/protocol.md §4.1).
func classifyIdP(err error) *Error {
	if errors.Is(err, grant.ErrKeyBinding) {
		return newError(ReasonIdPDenied, true, err,
			"the IdP returned an ID-JAG that is not bound to xaad's DPoP key, so it was discarded (a downgrade or a mix-up); tell the IdP's administrator, or set dpop = \"off\" for the server to do without DPoP")
	}
	var oe *grant.OAuthError
	if errors.As(err, &oe) {
		if e := dpopRefusal(oe, err, "the IdP", ReasonIdPDenied); e != nil {
			return e
		}
		switch {
		case oe.Transient():
			return newError(ReasonUpstreamUnavailable, false, err, "the IdP is unavailable")
		case oe.Code == "invalid_grant" || oe.Code == "invalid_request":
			// RFC 8693 §2.2.2 says invalid_request, the draft's example
			// invalid_grant; both mean the subject token is not good.
			return newError(ReasonLoginRequired, true, err, "the IdP no longer accepts the enterprise sign-in; run `xaactl login`")
		case oe.Code == "insufficient_user_authentication":
			return newError(ReasonLoginRequired, true, err, "the IdP requires a stronger sign-in; run `xaactl login`")
		case oe.Code == "invalid_client":
			return newError(ReasonIdPDenied, true, err, "the IdP rejected xaad's client credentials; check the [idp] section of the config")
		case oe.Code == "invalid_target":
			return newError(ReasonIdPDenied, true, err, "the IdP does not allow this MCP server; it may not be approved by your organization")
		default:
			return newError(ReasonIdPDenied, true, err, "the IdP refused the token exchange")
		}
	}
	return classifyTransport(err, "the IdP")
}

// classifyAS classifies a jwt-bearer failure at an authorization server (docs/protocol.md §4.2).
func classifyAS(err error) *Error {
	var oe *grant.OAuthError
	if errors.As(err, &oe) {
		if e := dpopRefusal(oe, err, "the authorization server", ReasonASDenied); e != nil {
			return e
		}
		switch {
		case oe.Transient():
			return newError(ReasonUpstreamUnavailable, false, err, "the authorization server is unavailable")
		case oe.Code == "invalid_client":
			return newError(ReasonASDenied, true, err, "the authorization server rejected xaad's client credentials; check its [[authorization_server]] section")
		case oe.Code == "invalid_grant":
			// Refused twice with fresh ID-JAGs: surfaced, but retried later
			// with backoff, since clock skew or a restarted replay cache at
			// the server heal on their own.
			return newError(ReasonASDenied, false, err, "the authorization server refused the ID-JAG")
		default:
			return newError(ReasonASDenied, true, err, "the authorization server refused the grant")
		}
	}
	return classifyTransport(err, "the authorization server")
}

// dpopRefusal classifies the RFC 9449 errors of a token endpoint: a
// nonce asked for again after the one retry (retried later), or a proof
// refused (permanent: the same key would be refused again).
func dpopRefusal(oe *grant.OAuthError, err error, who string, denied Reason) *Error {
	switch oe.Code {
	case "use_dpop_nonce":
		return newError(ReasonUpstreamUnavailable, false, err, "%s asked for a new DPoP nonce again after xaad's retry with its nonce", who)
	case "invalid_dpop_proof":
		return newError(denied, true, err, "%s refused xaad's DPoP proof; set dpop = \"off\" for the server to do without DPoP, and report it", who)
	}
	return nil
}

func classifyTransport(err error, who string) *Error {
	var we *upstream.WaitError
	switch {
	case errors.As(err, &we):
		return notSent(we)
	case errors.Is(err, grant.ErrMalformed), errors.Is(err, grant.ErrRejectedToken), errors.Is(err, grant.ErrRedirect), errors.Is(err, httpx.ErrTooLarge):
		return newError(ReasonUpstreamUnavailable, false, err, "%s sent an unusable answer", who)
	default:
		return newError(ReasonUpstreamUnavailable, false, err, "%s could not be reached", who)
	}
}

// isCode reports whether err is an OAuth error with the given code.
func isCode(err error, code string) bool {
	var oe *grant.OAuthError
	return errors.As(err, &oe) && oe.Code == code
}

// CheckURL reports whether raw is a URL the broker will call: absolute
// https, or http on a loopback address; no userinfo or fragment.
func CheckURL(raw string) (string, error) {
	u, err := httpx.CheckURL(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
