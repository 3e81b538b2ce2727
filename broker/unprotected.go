package broker

import (
	"context"
	"errors"
)

// loginOrUnprotected is the answer to a token request that cannot be
// signed for (loginErr). A server without OAuth protection (no protected
// resource metadata, which discovery reports as DISCOVERY_FAILED) needs no
// sign-in, and callers such as xaactl proxy then reach it without a token:
// its discovery failure is the truer answer. For any other server, or when
// discovery itself cannot answer now, the sign-in is what is missing.
// Discovery runs at most once per discovery TTL, as for a signed-in request.
// The answer is permanent, as the sign-in error it stands for: signed out,
// no background retry can get a token, and one would only poll the server's
// well-known URLs; a sign-in, a new configuration or a forced request tries
// again.
func (b *Broker) loginOrUnprotected(ctx context.Context, srv *server, loginErr error) error {
	var be *Error
	if !errors.As(loginErr, &be) || be.Reason != ReasonLoginRequired {
		return loginErr
	}
	_, err := b.metadata(ctx, srv, false)
	if errors.As(err, &be) && be.Reason == ReasonDiscoveryFailed {
		unprotected := *be
		unprotected.Permanent = true
		return &unprotected
	}
	return loginErr
}
