package broker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// idRefreshKey is the single-flight key of ID token refreshes; no server
// URL can equal it, so it never joins an access token flight.
const idRefreshKey = "\x00idp-refresh"

// Retry delays of a failed ID token refresh (transient failures only).
const (
	idRetryBase = 5 * time.Second
	idRetryCap  = 5 * time.Minute
	// idMaxSleep caps each sleep of the ID token loop, which then plans
	// again from the wall clock: timers count monotonic time, which stands
	// still while the machine is suspended, so a refresh that came due
	// during a suspend would otherwise wait out the whole timer after the
	// resume. It also makes the loop turn at least this often, for the
	// watchdog ([Broker.IdentityTurns]).
	idMaxSleep = time.Minute
)

// runIdentityRefresh keeps the enterprise ID token fresh until ctx ends:
// it refreshes it with the IdP refresh token when about a third of its
// lifetime remains, retries transient failures with backoff, and announces
// once when the identity can no longer be renewed. [Broker.Run] runs it
// beside the access token queue. It returns nil when ctx ends.
func (b *Broker) runIdentityRefresh(ctx context.Context) error {
	failures := 0
	for {
		b.idTurns.Add(1)
		// A nudge that arrived while working is answered by planning now.
		select {
		case <-b.signin.wakeCh():
		default:
		}
		b.flushIdentity()
		plan := b.identityPlan()
		var at time.Time
		switch plan.kind {
		case planIdle:
		case planRefresh:
			at = plan.at
			if failures > 0 {
				// Equal jitter: half the delay fixed, half random, so a
				// fleet that failed together does not retry together.
				d := min(idRetryBase<<min(failures-1, 10), idRetryCap)
				at = b.now().Add(d/2 + time.Duration(b.rand()*float64(d/2)))
			}
		case planExpire:
			at = plan.at
		}
		wakeAt := at
		if b.storeDirty() {
			// A record the store refused is written again soon, not at
			// the next refresh: it may hold a rotated refresh token.
			if retry := b.now().Add(idRetryBase); wakeAt.IsZero() || retry.Before(wakeAt) {
				wakeAt = retry
			}
		}
		if !b.waitUntil(ctx, wakeAt) {
			return nil
		}
		// Woken early by a login, logout, new record or store retry: plan again.
		if plan.kind == planIdle || b.now().Before(at) {
			continue
		}
		switch plan.kind {
		case planRefresh:
			err := b.renewIdentity(asBackground(ctx), plan.idToken)
			switch {
			case err == nil && b.renewedUsefully(plan.idToken):
				failures = 0
			case err == nil:
				// The renewed token is already due again (the IdP sent an
				// old one, or an almost expired one): planning from it
				// would refresh back to back. Back off as after a failure.
				failures++
				b.log.Warn("the IdP renewed the ID token, but the new one is already due for refresh; retrying later",
					slog.Int("attempt", failures))
			case ctx.Err() != nil:
				return nil
			case ReasonOf(err) == ReasonLoginRequired:
				failures = 0 // the identity is in NEEDS_LOGIN now: idle
			default:
				failures++
				b.log.Warn("ID token refresh failed; retrying", slog.Int("attempt", failures), slog.String("error", err.Error()))
			}
		case planExpire:
			b.mu.RLock()
			cur := b.ident
			b.mu.RUnlock()
			if cur != nil && cur.IDToken == plan.idToken {
				b.log.Warn("the enterprise ID token expired and cannot be renewed; sign in again")
				b.announce(cur)
				// Servers without a valid token now need the person.
				b.mu.Lock()
				b.publishChangesLocked()
				b.mu.Unlock()
			}
		}
	}
}

// renewedUsefully reports whether a refresh that succeeded left the loop
// something to wait for: a new ID token whose refresh is due later than
// idRetryBase from now, or nothing left to refresh (no refresh token, a
// refresh token as subject, NEEDS_LOGIN). old is the ID token refreshed.
func (b *Broker) renewedUsefully(old string) bool {
	next := b.identityPlan()
	if next.kind != planRefresh {
		return true
	}
	return next.idToken != old && next.at.After(b.now().Add(idRetryBase))
}

type planKind int

const (
	planIdle    planKind = iota // nothing to do until something changes
	planRefresh                 // refresh at `at`
	planExpire                  // announce the end of the identity at `at`
)

type identityPlanT struct {
	kind    planKind
	at      time.Time
	idToken string
}

// identityPlan decides the loop's next step from the record alone.
func (b *Broker) identityPlan() identityPlanT {
	b.signin.rec.Lock() // lock order: rec before mu
	notified := b.signin.notified
	b.signin.rec.Unlock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	r := b.ident
	switch {
	case r == nil || r.NeedsLogin != "" || r.RefreshSubject:
		return identityPlanT{kind: planIdle}
	case r.RefreshToken != "" && !r.NoRenewal:
		return identityPlanT{kind: planRefresh, at: IDRefreshAt(r.IssuedAt, r.ExpiresAt), idToken: r.IDToken}
	case notified != nil && notified.IDToken == r.IDToken:
		return identityPlanT{kind: planIdle}
	}
	return identityPlanT{kind: planExpire, at: r.ExpiresAt, idToken: r.IDToken}
}

// IDRefreshAt returns when an ID token issued at issued and expiring at exp
// is refreshed: when a third of its lifetime remains. An unknown issue
// time counts as an hour-long token. issued is the local time the token
// was received (for a login, its iat when earlier), so an IdP whose clock
// is behind does not make a fresh token look due; the loop backs off when
// the answer is still in the past.
func IDRefreshAt(issued, exp time.Time) time.Time {
	life := exp.Sub(issued)
	if issued.IsZero() || life <= 0 {
		life = time.Hour
	}
	return exp.Add(-life / 3)
}

// waitUntil waits until at (zero: until nudged), a nudge, the end of ctx
// (reported as false), or idSleepCap, whichever comes first; the caller
// plans again when woken before at.
func (b *Broker) waitUntil(ctx context.Context, at time.Time) bool {
	d := b.idSleepCap // 0: no cap (tests that follow the plan's timers)
	if !at.IsZero() {
		until := at.Sub(b.now())
		if until <= 0 {
			return ctx.Err() == nil
		}
		if d <= 0 || until < d {
			d = until
		}
	}
	var timer <-chan time.Time
	if d > 0 {
		// Stopped on a nudge, so a busy sign-in leaves no timers behind.
		t := b.clock.NewTimer(d)
		defer t.Stop()
		timer = t.C()
	}
	select {
	case <-timer:
	case <-b.signin.wakeCh():
	case <-ctx.Done():
		return false
	}
	return true
}

// renewIdentity refreshes the ID token with the refresh token, once for
// all callers. seen is the ID token the caller found wanting: if the
// identity holds another by now, someone else renewed it already.
func (b *Broker) renewIdentity(ctx context.Context, seen string) error {
	// A caller's token flight that needs a renewed subject renews it at
	// the caller's priority; the refresh loop at background priority.
	prio, deadline := upstream.Caller, b.callerDeadline(ctx)
	if p := planOf(ctx); p != nil {
		prio, deadline = p.state()
	}
	plan, leave := b.plans.join(idRefreshKey, prio, deadline)
	defer leave()
	ch := b.flights.DoChan(idRefreshKey, func() (any, error) {
		// On the broker's root, so Close waits for a renewal in flight: a
		// rotated refresh token must reach the store before it closes.
		return b.flight(func(fctx context.Context) (any, error) {
			b.renewing.Store(true)
			defer b.renewing.Store(false)
			return nil, b.doRenew(withPlan(fctx, plan), seen)
		})
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Broker) doRenew(ctx context.Context, seen string) error {
	b.mu.RLock()
	cur := b.ident
	b.mu.RUnlock()
	switch {
	case cur == nil:
		return newError(ReasonLoginRequired, true, nil, "not signed in; run `xaactl login`")
	case cur.IDToken != seen:
		return nil
	case cur.NeedsLogin != "":
		return newError(ReasonLoginRequired, true, nil, "%s; run `xaactl login`", cur.NeedsLogin)
	case cur.RefreshToken == "":
		return newError(ReasonLoginRequired, true, nil, "the ID token cannot be renewed without a refresh token; run `xaactl login`")
	}
	ep, err := b.idpEndpoint(ctx)
	if err != nil {
		return err
	}
	toks, err := grant.Refresh(ctx, ep, cur.RefreshToken)
	if err != nil {
		// Only the record that held this refresh token may be moved to
		// NEEDS_LOGIN: a login may have replaced it while the grant ran.
		return b.refreshRefused(refusedCred{idToken: cur.IDToken, refreshToken: cur.RefreshToken}, err)
	}
	// OIDC Core §12.2 lets the IdP answer with the ID token it already
	// issued: that renews nothing (its exp is unchanged).
	same := toks.IDToken != "" && toks.IDToken == cur.IDToken
	var claims *idtoken.Claims
	var verr error
	if toks.IDToken != "" && !same {
		claims, verr = b.idVerifier().VerifyLogin(ctx, toks.IDToken, idtoken.LoginCheck{Subject: cur.Subject})
	}
	rtSubject := toks.IDToken == "" && b.idpTakesRefreshSubject(ctx)
	rec := b.commitIdentity(func(c *identityRecord) *identityRecord {
		if c == nil || c.IDToken != cur.IDToken || c.RefreshToken != cur.RefreshToken {
			return nil // a login or logout replaced the identity meanwhile; it wins
		}
		n := *c
		if toks.RefreshToken != "" {
			n.RefreshToken = toks.RefreshToken // RFC 6749 §6: rotated
		}
		switch {
		case same:
			// Keep the rotated refresh token; nothing else changed.
		case claims != nil:
			n.IDToken, n.ExpiresAt, n.Verified = toks.IDToken, claims.ExpiresAt, claims.Verified
			// Planned from when it arrived, not from the IdP's iat: an
			// IdP clock behind ours must not make it look due already.
			n.IssuedAt = toks.ReceivedAt
			n.RefreshSubject, n.NoRenewal = false, false
		case verr != nil:
			// Keep the rotated refresh token; the old ID token stays.
		case rtSubject:
			n.RefreshSubject = true
		default:
			n.NoRenewal = true
		}
		return &n
	})
	if verr != nil {
		return newError(ReasonUpstreamUnavailable, false, verr, "the IdP's refreshed ID token fails verification")
	}
	if rec == nil {
		return nil
	}
	if same {
		return newError(ReasonUpstreamUnavailable, false, errNothingRenewed, "the IdP answered the refresh with the ID token it had already issued")
	}
	b.log.Info("ID token refreshed", slog.Bool("rotated", toks.RefreshToken != ""), slog.Bool("id_token", toks.IDToken != ""),
		slog.Bool("refresh_token_as_subject", rec.RefreshSubject), slog.Time("exp", rec.ExpiresAt))
	if rec.NoRenewal {
		b.log.Warn("the IdP renewed the session without an ID token and takes no refresh token as subject; the identity ends with the ID token",
			slog.Time("exp", rec.ExpiresAt))
	}
	return nil
}

// errNothingRenewed: the refresh returned the ID token the identity held.
var errNothingRenewed = errors.New("the refreshed ID token is the one already held")

// refreshRefused classifies a failed refresh; invalid_grant means the
// refresh token is dead and the person must sign in again. refused is the
// record the refresh was made for; a record that replaced it meanwhile is
// left alone.
func (b *Broker) refreshRefused(refused refusedCred, err error) error {
	var oe *grant.OAuthError
	if errors.As(err, &oe) && !oe.Transient() {
		switch oe.Code {
		case "invalid_grant":
			b.enterNeedsLogin(refused, "the IdP refused the refresh token (it was revoked, expired or replaced)", "", "", true)
			return newError(ReasonLoginRequired, true, err, "the IdP refused the refresh token; run `xaactl login`")
		case "insufficient_user_authentication":
			b.enterNeedsLogin(refused, "the IdP requires a stronger sign-in", oe.MaxAge, oe.ACRValues, false)
			return newError(ReasonLoginRequired, true, err, "the IdP requires a stronger sign-in; run `xaactl login`")
		case "invalid_client", "unauthorized_client":
			return newError(ReasonIdPDenied, true, err, "the IdP rejected xaad's client for the refresh; check the [idp] section of the config")
		}
		return newError(ReasonIdPDenied, false, err, "the IdP refused the ID token refresh")
	}
	if errors.As(err, &oe) {
		return newError(ReasonUpstreamUnavailable, false, err, "the IdP is unavailable")
	}
	return classifyTransport(err, "the IdP")
}

// idpTakesRefreshSubject reports whether the IdP's metadata lists refresh
// tokens among its token exchange subject types.
func (b *Broker) idpTakesRefreshSubject(ctx context.Context) bool {
	m, err := b.idpMetadata(ctx)
	return err == nil && slices.Contains(m.SubjectTokenTypes, grant.TokenTypeRefresh)
}
