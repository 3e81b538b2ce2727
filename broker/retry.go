package broker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// mintRetrying is mint with one more try for a caller: a request that
// meets one transient failure (a 5xx, a 429 or 503, a timeout, a refused
// connection) mints again within the caller's deadline, so that a single
// upstream hiccup is never an error a person sees. The second try starts
// again from the token exchange: an ID-JAG that may have reached the
// authorization server is never presented twice (its jti is single use,
// EMA §7.4.2). A pause the server asked for is waited out at the gate
// when it ends before the deadline, and answered at once, naming its end,
// when it does not. Background work does not retry here: the refresh
// queue backs off instead.
func (b *Broker) mintRetrying(ctx context.Context, srv *server, scopes []string) (*Token, error) {
	if srv.pending.Load() {
		return b.firstMint(ctx, srv, scopes)
	}
	t, err := b.mint(ctx, srv, scopes)
	if err == nil || ctx.Err() != nil || !isCaller(ctx) || !transient(err) {
		return t, err
	}
	b.log.Info("transient upstream failure; trying once more within the caller's deadline",
		slog.String("server", srv.url), slog.String("error", err.Error()))
	return b.mint(ctx, srv, scopes)
}

// unusable are failures the same server would answer the same way at once.
var unusable = []error{grant.ErrMalformed, grant.ErrRejectedToken, grant.ErrRedirect, httpx.ErrTooLarge, discovery.ErrInvalid}

// transient reports a failure one more try may cure: the upstream was
// unavailable, and the answer was neither unusable nor the gate's (a
// request kept back stands until the time it names), nor a DPoP nonce
// asked for again after its one retry (RFC 9449 §8: a second round would
// only repeat the dance).
func transient(err error) bool {
	var be *Error
	if !errors.As(err, &be) || be.Permanent || be.Reason != ReasonUpstreamUnavailable || be == errStaleFlight || be == errClosed {
		return false
	}
	var we *upstream.WaitError
	if errors.As(err, &we) || isCode(err, "use_dpop_nonce") {
		return false
	}
	for _, u := range unusable {
		if errors.Is(err, u) {
			return false
		}
	}
	return true
}

// askAgain reports whether a request should join a new flight after its
// flight ended with err: once, when the flight was of the previous
// sign-in, or when a gate turned it away for a deadline earlier than the
// request's own (another caller, with a shorter one, started it). A
// request without a deadline of its own has the flight's, which a new
// flight would not change.
func askAgain(err error, deadline time.Time, attempt int) bool {
	if attempt > 0 || err == nil {
		return false
	}
	if err == errStaleFlight {
		return true
	}
	var we *upstream.WaitError
	return errors.As(err, &we) && !we.Deadline.IsZero() && deadline.After(we.Deadline)
}
