package broker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// expirySkew is subtracted from every expiry: a token this close to its end
// is not handed out, because it may expire on the way to the server.
const expirySkew = 10 * time.Second

// Token returns an access token for the MCP server, from the cache when a
// cached token is valid for MinValid, otherwise from one shared upstream
// flight. The returned Token is the caller's copy.
func (b *Broker) Token(ctx context.Context, req TokenRequest) (*Token, error) {
	if req.MinValid < 0 {
		return nil, newError(ReasonInvalidArgument, true, nil, "min_valid_for is negative")
	}
	srv, release, err := b.serverFor(req.ServerURL, req.Force)
	if err != nil {
		return nil, err
	}
	defer func() { release() }()
	scopes := normScopes(req.Scopes)
	key := scopeKey(scopes)
	start := b.now()
	srv.counters.requests.Add(1)
	srv.counters.lastUsed.Store(start.UnixNano())
	if !srv.pending.Load() {
		// Not for a pending server: an entry would plan its refresh.
		b.queue.Used(planKey(srv, key), start)
	}
	if req.Force {
		b.rediscoverNext(srv, req.Challenge)
	}
	if !req.Force {
		if t := b.cached(srv, key, req.MinValid, true); t != nil {
			return t, nil
		}
		if err := b.failFast(srv, key); err != nil {
			return nil, err
		}
	}
	deadline := b.callerDeadline(ctx)
	if err := b.refuseEarly(srv, deadline); err != nil {
		return nil, err
	}
	plan, leave := b.plans.join(tokenKey(srv.url, key), upstream.Caller, deadline)
	defer leave()
	var res singleflight.Result
	for attempt := 0; ; attempt++ {
		ch := b.flights.DoChan(tokenKey(srv.url, key), func() (any, error) {
			// A flight that finished between our cache check and DoChan has
			// already done the work: reuse it rather than mint again.
			if t := b.cachedSince(srv, key, req.MinValid, start, req.Force); t != nil {
				return t, nil
			}
			return b.flight(func(fctx context.Context) (any, error) { return b.refresh(withPlan(fctx, plan), srv, scopes) })
		})
		select {
		case res = <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !askAgain(res.Err, deadline, attempt) {
			break
		}
		if srv.pending.Load() {
			// Registered meanwhile, by the configuration or another
			// entry: ask again as a registered server.
			release()
			if srv, release, err = b.serverFor(req.ServerURL, req.Force); err != nil {
				release = func() {} // released above; the deferred call must not find nil
				return nil, err
			}
		}
	}
	if res.Err != nil {
		return nil, res.Err
	}
	t := *res.Val.(*Token)
	if t.ExpiresAt.Sub(b.now()) < req.MinValid+expirySkew {
		return nil, newError(ReasonInvalidArgument, true, nil,
			"the server's tokens live %s, less than the requested min_valid_for of %s", t.ExpiresAt.Sub(t.RefreshedAt).Round(time.Second), req.MinValid)
	}
	return &t, nil
}

// cached returns a copy of a cached token valid for at least minValid.
func (b *Broker) cached(srv *server, key string, minValid time.Duration, countHit bool) *Token {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := srv.tokens[key]
	if !ok || t.ExpiresAt.Sub(b.now()) < minValid+expirySkew || !b.tokenFitsPolicyLocked(srv, t) || !b.boundToCurrentKeyLocked(t.JKT) {
		return nil
	}
	if countHit {
		srv.counters.cacheHits.Add(1)
	}
	c := *t
	if c.Source == SourceNetwork {
		c.Source = SourceMemory
	}
	if e, ok := b.queue.Entry(planKey(srv, key)); ok {
		c.NextRefreshAt = e.Next
		if e.Err != nil {
			// Serve stale while valid: a failed refresh never takes a
			// valid token away; the caller learns why it is stale.
			c.Stale, c.StaleReason = true, e.Err.Error()
		}
	}
	return &c
}

// cachedSince is cached for a request that started at start: a forced
// request accepts only a token refreshed after it started.
func (b *Broker) cachedSince(srv *server, key string, minValid time.Duration, start time.Time, force bool) *Token {
	t := b.cached(srv, key, minValid, false)
	if t == nil || (force && t.RefreshedAt.Before(start)) {
		return nil
	}
	t.Source = SourceMemory
	return t
}

// refresh runs discovery, the token exchange and the jwt-bearer grant for
// one server and scope set, with the bounded retries of the renewal ladder
// (docs/protocol.md §2 step 7): a fresh ID-JAG for every grant, one retry of the
// grant after invalid_grant, one re-discovery after invalid_target.
func (b *Broker) refresh(ctx context.Context, srv *server, scopes []string) (*Token, error) {
	gen := b.gen.Load()
	// Taken before mint reads srv.scopes, so a change in between only
	// drops a token that was fine, never keeps one that is not.
	scopeGen := b.scopeGenOf(srv)
	idToken, subject := b.currentIDToken(), b.currentSubjectTag()
	srv.refreshing.Add(1)
	t, err := b.mintRetrying(ctx, srv, scopes)
	key := tokenKey(srv.url, scopeKey(scopes))
	if err == nil {
		// A token is handed out only once it is stored: a crash right
		// after must not lose a token a client already holds.
		if perr := b.persist(bucketTokens, key, tokenRecordOf(t, scopes, subject)); perr != nil {
			err = newError(ReasonInternal, false, perr, "cannot store the new token")
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Done under the lock, so the state published below is the outcome.
	srv.refreshing.Add(-1)
	// Explicitly requested scopes do not depend on the configured ones.
	rescoped := len(scopes) == 0 && srv.scopeGen != scopeGen
	if err == nil && (b.gen.Load() != gen || srv.removed || rescoped) {
		// The sign-in ended or changed, the server was removed, or its
		// scopes changed while this flight ran: its token belongs to
		// nobody now, or was asked for with scopes the configuration no
		// longer gives. Whichever came first, the wipe or this write, the
		// record goes.
		b.mu.Unlock()
		b.unpersist(bucketTokens, key)
		b.mu.Lock()
		return nil, errStaleFlight
	}
	if err != nil {
		var be *Error
		if !errors.As(err, &be) {
			be = newError(ReasonInternal, false, err, "token refresh failed")
		}
		if b.gen.Load() != gen || srv.removed || rescoped {
			// A failure of the previous sign-in (or of a removed server,
			// or of the old scopes) says nothing about the present one:
			// not recorded.
			return nil, errStaleFlight
		}
		if srv.pending.Load() {
			// Not registered, so neither recorded nor published: firstMint
			// remembered the failure for a while, and nothing retries it.
			return nil, be
		}
		if be.Reason == ReasonLoginRequired && b.identityIDTokenLocked() != idToken {
			// A sign-in finished while this flight ran: its refusal was
			// about the old sign-in and must not hold the new one back.
			return nil, be
		}
		srv.lastErr = be
		srv.counters.failures.Add(1)
		b.recordLocked(srv, scopeKey(scopes), nil, be)
		b.publishLocked(srv, EventFailed, nil)
		b.log.Warn("token refresh failed", slog.String("server", srv.url), slog.String("reason", string(be.Reason)), slog.String("error", be.Error()))
		return nil, be
	}
	srv.lastErr = nil
	srv.lastRefAt = t.RefreshedAt
	srv.counters.refreshes.Add(1)
	srv.retireLocked(srv.tokens[scopeKey(scopes)], b.now())
	srv.tokens[scopeKey(scopes)] = t
	c := *t
	c.NextRefreshAt = b.recordLocked(srv, scopeKey(scopes), t, nil)
	b.publishLocked(srv, EventRefreshed, &c)
	b.nudgeExpiry()
	return &c, nil
}

func (b *Broker) mint(ctx context.Context, srv *server, scopes []string) (*Token, error) {
	subject, err := b.subject(ctx)
	if err != nil {
		return nil, b.loginOrUnprotected(ctx, srv, err)
	}
	meta, err := b.metadata(ctx, srv, false)
	if err != nil {
		return nil, err
	}
	idp, err := b.idpEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	asAuth, err := b.asClient(meta.as.Issuer)
	if err != nil {
		return nil, err
	}
	want := b.effectiveScopes(srv, meta, scopes)
	plan, err := b.planDPoP(srv, meta)
	if err != nil {
		return nil, err
	}
	idp = plan.exchangeEndpoint(idp, b.nonces)

	exchange := func(meta *metadata) (*grant.IDJAG, error) {
		jag, err := grant.Exchange(ctx, idp, grant.ExchangeRequest{
			SubjectToken: subject.token, SubjectTokenType: subject.typ, Audience: meta.as.Issuer, Resource: meta.resource.Resource, Scopes: want,
		})
		if err == nil {
			srv.counters.exchanges.Add(1)
		}
		return jag, err
	}
	jag, err := exchange(meta)
	if isCode(err, "invalid_target") {
		// The metadata may have moved; look again once (docs/protocol.md §4.1).
		if fresh, derr := b.metadata(ctx, srv, true); derr == nil {
			meta = fresh
			// The server may now name another authorization server, with
			// its own credentials (or none configured).
			if asAuth, err = b.asClient(meta.as.Issuer); err != nil {
				return nil, err
			}
			if plan, err = b.planDPoP(srv, meta); err != nil {
				return nil, err
			}
			idp = plan.exchangeEndpoint(idp, b.nonces)
			jag, err = exchange(meta)
		}
	}
	if isCode(err, "invalid_grant") || isCode(err, "invalid_request") {
		// The subject token may no longer be good: renew the ID token once
		// and retry once (docs/protocol.md §2 step 7.2, §4.1).
		if subject, err = b.renewSubject(ctx, subject, err); err != nil {
			return nil, err
		}
		jag, err = exchange(meta)
	}
	if err != nil {
		return nil, b.exchangeRefusedFor(subject, err)
	}
	asEP := &grant.Endpoint{URL: meta.as.TokenEndpoint, Issuer: meta.as.Issuer, Auth: asAuth, HTTP: b.cfg.HTTP, Now: b.clock.Now}
	plan.grantEndpoint(asEP, b.nonces)
	b.gated(UpstreamAuthServer, asEP)
	bearer := func(jag *grant.IDJAG) (*grant.AccessToken, error) {
		// Counted when sent: each grant spends one ID-JAG, accepted or not.
		srv.counters.grants.Add(1)
		return grant.JWTBearer(ctx, asEP, grant.BearerRequest{Assertion: jag.Assertion, Scopes: jag.Scopes, Resource: meta.resource.Resource})
	}
	at, err := bearer(jag)
	if isCode(err, "invalid_grant") {
		// The ID-JAG may have expired or been judged a replay; mint a
		// fresh one, once. The rejected one is never sent again.
		b.log.Info("authorization server refused the ID-JAG; retrying once with a fresh one", slog.String("server", srv.url))
		jag, err = exchange(meta)
		if err != nil {
			return nil, classifyIdP(err)
		}
		at, err = bearer(jag)
	}
	if err != nil {
		return nil, classifyAS(err)
	}
	if err := plan.accept(srv, meta.as, at, b.log); err != nil {
		return nil, err
	}
	t := &Token{
		AccessToken: at.Token, Type: at.Type, JKT: at.JKT, ExpiresAt: at.ExpiresAt, RefreshedAt: at.ReceivedAt,
		Scopes: at.Scopes, Resource: meta.resource.Resource, AuthServer: meta.as.Issuer, ServerURL: srv.url, Source: SourceNetwork,
	}
	b.log.Info("access token issued", slog.String("server", srv.url), slog.String("as", meta.as.Issuer),
		slog.String("token_fp", Fingerprint(t.AccessToken)), slog.String("type", t.Type), slog.Time("exp", t.ExpiresAt))
	return t, nil
}

// effectiveScopes picks the scopes to request (MCP authorization, scope
// selection): the caller's, else the server's configured ones, else the
// 401 challenge's, else everything the server advertises.
func (b *Broker) effectiveScopes(srv *server, meta *metadata, requested []string) []string {
	if len(requested) > 0 {
		return requested
	}
	b.mu.RLock()
	configured := srv.scopes
	b.mu.RUnlock()
	switch {
	case len(configured) > 0:
		return configured
	case len(meta.resource.ChallengeScopes) > 0:
		return meta.resource.ChallengeScopes
	default:
		var out []string
		for _, s := range meta.resource.ScopesSupported {
			// offline_access is an IdP scope, never a resource scope.
			if s != "offline_access" {
				out = append(out, s)
			}
		}
		return out
	}
}

// asClient returns the client credentials for the authorization server.
func (b *Broker) asClient(issuer string) (grant.ClientAuth, error) {
	b.mu.RLock() // Reconfigure swaps the clients
	defer b.mu.RUnlock()
	if a, ok := b.cfg.AuthServers[issuer]; ok {
		return a, nil
	}
	if b.cfg.DefaultClient != nil {
		return b.defaultClientLocked(issuer)
	}
	return grant.ClientAuth{}, newError(ReasonConfig, true, nil,
		"no client credentials for authorization server %q; add an [[authorization_server]] section with this issuer, or a [default_client]", issuer)
}

// scopeGenOf reads srv.scopeGen, which Reconfigure changes under mu.
func (b *Broker) scopeGenOf(srv *server) uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return srv.scopeGen
}

// errStaleFlight ends a flight whose sign-in or server changed while it ran;
// Token asks again once, under the present sign-in.
var errStaleFlight = newError(ReasonUpstreamUnavailable, false, nil, "the sign-in or the server changed while the token was fetched; ask again")

// currentSubjectTag is "issuer sub" of the current sign-in, or "".
func (b *Broker) currentSubjectTag() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ident == nil {
		return ""
	}
	return b.ident.Issuer + " " + b.ident.Subject
}

// tokenRecordOf is the stored form of t, tagged with the person (taken when
// the flight began) it was minted for, so a record left by a crash is never
// loaded for someone else.
func tokenRecordOf(t *Token, scopes []string, subject string) tokenRecord {
	return tokenRecord{
		V: recordVersion, ServerURL: t.ServerURL, RequestedScopes: scopes, AccessToken: t.AccessToken, Type: t.Type, JKT: t.JKT,
		ExpiresAt: t.ExpiresAt, RefreshedAt: t.RefreshedAt, Scopes: t.Scopes, Resource: t.Resource, AuthServer: t.AuthServer,
		Subject: subject,
	}
}

// currentIDToken is the ID token of the current sign-in, or "".
func (b *Broker) currentIDToken() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.identityIDTokenLocked()
}

func (b *Broker) identityIDTokenLocked() string {
	if b.ident == nil {
		return ""
	}
	return b.ident.IDToken
}
