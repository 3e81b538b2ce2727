package broker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// upstreamCall sends one request to the token endpoint g guards: it waits
// for its turn as ctx's plan says (a caller's before background work,
// never before the end of a pause the server asked for), sends it bounded
// by the per-call timeout, and tells the gate what the server answered,
// so a 429 or 503 with Retry-After stops every call to that endpoint. A
// request the gate turns away comes back as an *upstream.WaitError that
// names when it could go; classifyTransport makes it an Error.
func (b *Broker) upstreamCall(ctx context.Context, g *gate, send func(context.Context) error) error {
	if err := b.awaitTurn(ctx, g); err != nil {
		var we *upstream.WaitError
		if errors.As(err, &we) {
			// The setting may have moved since the gate was made (a
			// reload gave the server its own section).
			b.gates.mu.Lock()
			we.Setting = g.setting
			b.gates.mu.Unlock()
		}
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, b.cfg.timeout())
	defer cancel()
	err := send(cctx)
	if h := g.ObserveError(err); h.Clipped {
		b.logClipped(g, h)
	}
	return err
}

// awaitTurn waits at g: a caller's flight, or a call with no plan, at
// Caller priority; background work at Background until a caller joins it,
// when it moves to the callers' queue.
func (b *Broker) awaitTurn(ctx context.Context, g *gate) error {
	p := planOf(ctx)
	if p == nil {
		return g.Wait(ctx, upstream.Caller)
	}
	prio, deadline := p.state()
	if prio == upstream.Caller {
		return g.WaitUntil(ctx, upstream.Caller, deadline)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.raised, cancel)
	defer stop()
	err := g.WaitUntil(wctx, upstream.Background, deadline)
	if err == nil || ctx.Err() != nil || p.raised.Err() == nil {
		return err
	}
	_, deadline = p.state()
	return g.WaitUntil(ctx, upstream.Caller, deadline)
}

// logClipped logs a pause longer than upstream.MaxHold once per hold: the
// server and xaad disagree about what is reasonable, and an admin should
// know that xaad will ask again before the server's time.
func (b *Broker) logClipped(g *gate, h upstream.Hint) {
	b.gates.mu.Lock()
	logged := b.now().Before(g.clipLogged)
	if !logged {
		g.clipLogged = h.At
	}
	b.gates.mu.Unlock()
	if logged {
		return
	}
	b.log.Warn("the server asked for a longer pause than xaad honours; holding requests to it until the cap instead",
		slog.String("endpoint", g.url), slog.String("field", h.Field), slog.Duration("asked", h.Asked),
		slog.Duration("cap", upstream.MaxHold), slog.Time("until", h.At))
}

// gated makes every request to ep pass the gate of its token endpoint,
// made on first use (an endpoint discovered later gets its own).
func (b *Broker) gated(kind UpstreamKind, ep *grant.Endpoint) *grant.Endpoint {
	ep.Around = func(ctx context.Context, send func(context.Context) error) error {
		return b.upstreamCall(ctx, b.gateFor(kind, ep.URL, ep.Issuer), send)
	}
	return ep
}

// notSent is the Error of a request the gate kept back. The WaitError
// names when it could have gone and, when the local limit was the reason,
// the setting to raise.
func notSent(we *upstream.WaitError) *Error {
	return newError(ReasonUpstreamUnavailable, false, we, "the request was not sent")
}

// holdEnd is when a failed request may be tried again at the earliest:
// the time a gate or a server's answer named, zero when neither did.
func holdEnd(err error) time.Time {
	var we *upstream.WaitError
	if errors.As(err, &we) {
		return we.Until
	}
	var oe *grant.OAuthError
	if errors.As(err, &oe) {
		return oe.Retry.At
	}
	return time.Time{}
}
