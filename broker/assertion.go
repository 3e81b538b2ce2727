package broker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
)

// Assertion policy (docs/architecture.md §5, refresh policy).
const (
	// spareMargin: a spare ID-JAG this close to its expiry is discarded
	// rather than handed out.
	spareMargin = 60 * time.Second
	// spareRecent: a spare is minted ahead only for a key that was asked
	// for twice within this window, so one-off callers cost one exchange.
	spareRecent = 5 * time.Minute
)

// AssertionRequest asks for an ID-JAG. Name the MCP server with ServerURL
// (audience and resource come from its metadata), or an authorization
// server with Audience and optionally the Resource to bind.
type AssertionRequest struct {
	ServerURL string
	Audience  string
	Resource  string
	Scopes    []string
}

// Assertion is a fresh ID-JAG. It has never been handed out before and
// never will be again.
type Assertion struct {
	Assertion string
	ExpiresAt time.Time
	Audience  string
	Resource  string
	Scopes    []string
}

// spares holds at most one pre-minted ID-JAG per (audience, resource,
// scopes), for callers that ask repeatedly.
type spares struct {
	mu    sync.Mutex
	byKey map[string]*spare
}

type spare struct {
	jag *grant.IDJAG
	// gen is the identity generation jag was minted under.
	gen      uint64
	lastUsed time.Time
	minting  bool
}

// Assertion returns a fresh ID-JAG for callers that run the jwt-bearer leg
// themselves. A spare minted ahead is handed out at most once; otherwise one
// is minted now.
func (b *Broker) Assertion(ctx context.Context, req AssertionRequest) (*Assertion, error) {
	srv, aud, res, scopes, err := b.assertionTarget(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := b.assertionAllowed(srv, aud); err != nil {
		return nil, err
	}
	// Spares belong to the sign-in they were minted under: none is
	// handed out when nobody is signed in now.
	if _, _, err := b.currentSubject(); err != nil {
		return nil, err
	}
	key := aud + "\x00" + res + "\x00" + scopeKey(scopes)
	now := b.now()
	jag, recent := b.spares.take(key, now, b.gen.Load())
	if jag == nil {
		if jag, err = b.exchangeFor(ctx, srv, aud, res, scopes); err != nil {
			return nil, err
		}
	}
	if recent {
		b.mintSpare(key, srv, aud, res, scopes)
	}
	if srv != nil {
		srv.counters.assertions.Add(1)
	}
	b.log.Info("assertion served", slog.String("audience", aud), slog.String("jag_fp", Fingerprint(jag.Assertion)), slog.Time("exp", jag.ExpiresAt))
	return &Assertion{Assertion: jag.Assertion, ExpiresAt: jag.ExpiresAt, Audience: aud, Resource: res, Scopes: slices.Clone(jag.Scopes)}, nil
}

// take pops the spare of key if it is still good, and reports whether the
// key was used recently enough to deserve a new spare.
func (s *spares) take(key string, now time.Time, gen uint64) (*grant.IDJAG, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[string]*spare{}
	}
	sp, ok := s.byKey[key]
	if !ok {
		s.byKey[key] = &spare{lastUsed: now}
		return nil, false
	}
	recent := now.Sub(sp.lastUsed) < spareRecent
	sp.lastUsed = now
	jag := sp.jag
	sp.jag = nil // handed out at most once
	if jag != nil && (jag.ExpiresAt.Sub(now) < spareMargin || sp.gen != gen) {
		jag = nil
	}
	return jag, recent
}

// mintSpare mints one spare for key in the background, unless one exists
// or is being minted.
func (b *Broker) mintSpare(key string, srv *server, aud, res string, scopes []string) {
	b.spares.mu.Lock()
	sp := b.spares.byKey[key]
	if sp == nil || sp.jag != nil || sp.minting {
		b.spares.mu.Unlock()
		return
	}
	sp.minting = true
	b.spares.mu.Unlock()
	gen := b.gen.Load()
	if !b.startFlight() {
		b.spares.mu.Lock()
		sp.minting = false
		b.spares.mu.Unlock()
		return
	}
	go func() {
		defer b.flightsWG.Done()
		ctx, cancel := context.WithTimeout(b.root, 2*b.cfg.timeout())
		defer cancel()
		// Nobody waits for a spare: it yields to callers.
		jag, err := b.exchangeFor(asBackground(ctx), srv, aud, res, scopes)
		b.spares.mu.Lock()
		defer b.spares.mu.Unlock()
		sp.minting = false
		if err == nil && sp.jag == nil && b.gen.Load() == gen {
			sp.jag, sp.gen = jag, gen
		}
	}()
}

// assertionTarget resolves and checks the audience, resource and scopes,
// and finds the server the ID-JAG is for (nil when an audience request
// names no known server's resource), whose counters it goes to.
func (b *Broker) assertionTarget(ctx context.Context, req AssertionRequest) (srv *server, aud, res string, scopes []string, err error) {
	scopes = normScopes(req.Scopes)
	if req.ServerURL != "" {
		srv, release, err := b.serverFor(req.ServerURL, false)
		if err != nil {
			return nil, "", "", nil, err
		}
		defer release()
		meta, err := b.assertionMetadata(ctx, srv)
		if err != nil {
			return nil, "", "", nil, err
		}
		return srv, meta.as.Issuer, meta.resource.Resource, b.effectiveScopes(srv, meta, scopes), nil
	}
	if req.Audience == "" {
		return nil, "", "", nil, newError(ReasonInvalidArgument, true, nil, "name an MCP server (resource) or an authorization server (audience)")
	}
	srv, known := b.knownAudience(req.Audience, req.Resource)
	if !known {
		return nil, "", "", nil, newError(ReasonServerNotAllowed, true, nil,
			"%s is not the authorization server of a known MCP server; ask for the MCP server's URL instead", req.Audience)
	}
	return srv, req.Audience, req.Resource, scopes, nil
}

// knownAudience reports whether aud is the issuer of a configured
// authorization server or of a discovered server (with that resource,
// when one is named): ID-JAGs are minted only for places xaad may go. srv
// is the discovered server with exactly that audience and resource, if any.
func (b *Broker) knownAudience(aud, res string) (srv *server, known bool) {
	// A reload swaps cfg under mu.
	b.mu.RLock()
	defer b.mu.RUnlock()
	unlisted := b.cfg.AllowUnlisted
	_, known = b.cfg.AuthServers[aud]
	known = known && unlisted
	// With an allow-list, the resource must be an allowed server's, named:
	// an ID-JAG without one might be good for any resource of that AS.
	for _, s := range b.servers {
		if s.meta == nil || s.meta.as.Issuer != aud {
			continue
		}
		if res != "" && res == s.meta.resource.Resource {
			return s, true
		}
		known = known || (res == "" && unlisted)
	}
	return nil, known
}

// exchangeFor mints one ID-JAG, with the same subject renewal as mint.
func (b *Broker) exchangeFor(ctx context.Context, srv *server, aud, res string, scopes []string) (*grant.IDJAG, error) {
	subject, err := b.subject(ctx)
	if err != nil {
		return nil, err
	}
	idp, err := b.idpEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	exchange := func() (*grant.IDJAG, error) {
		jag, err := grant.Exchange(ctx, idp, grant.ExchangeRequest{
			SubjectToken: subject.token, SubjectTokenType: subject.typ, Audience: aud, Resource: res, Scopes: scopes,
		})
		if err == nil && srv != nil {
			srv.counters.exchanges.Add(1)
		}
		return jag, err
	}
	jag, err := exchange()
	if isCode(err, "invalid_grant") || isCode(err, "invalid_request") {
		if subject, err = b.renewSubject(ctx, subject, err); err != nil {
			return nil, err
		}
		jag, err = exchange()
	}
	if err != nil {
		return nil, b.exchangeRefusedFor(subject, err)
	}
	return jag, nil
}
