package broker

import (
	"errors"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/signin"
)

// signInError gives a failed interactive sign-in its Reason. Errors that
// are not the sign-in's own (the broker's, a cancelled context) pass as
// they are.
func signInError(err error) error {
	se, ok := err.(*signin.Error)
	if !ok {
		return err
	}
	switch se.Kind {
	case signin.Refused:
		return newError(ReasonIdPDenied, true, se.Err, "%s", se.Msg)
	case signin.Expired:
		return newError(ReasonLoginRequired, true, se.Err, "%s", se.Msg)
	case signin.TimedOut:
		return newError(ReasonUpstreamUnavailable, false, se.Err, "%s", se.Msg)
	case signin.Grant:
		return signInGrantError(se.Err, se.Msg)
	case signin.BadEndpoint:
		return newError(ReasonConfig, true, se.Err, "%s", se.Msg)
	default: // signin.Listener
		return newError(ReasonInternal, false, se.Err, "%s", se.Msg)
	}
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
