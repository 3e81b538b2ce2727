package broker

import (
	"context"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// AddServer registers an MCP server. Servers from the configuration cannot
// be changed this way; others are allowed only when the configuration
// allows unlisted servers.
func (b *Broker) AddServer(ctx context.Context, url string, scopes []string, keepWarm bool) (ServerInfo, error) {
	if _, err := httpx.CheckURL(url); err != nil {
		return ServerInfo{}, newError(ReasonInvalidArgument, true, err, "bad MCP server URL")
	}
	scopes = normScopes(scopes)
	b.mu.Lock()
	if s, ok := b.servers[url]; ok && s.origin == OriginConfig {
		b.mu.Unlock()
		return ServerInfo{}, newError(ReasonConfig, true, nil, "%s is defined in the configuration file; change it there", url)
	}
	if !b.cfg.AllowUnlisted {
		b.mu.Unlock()
		return ServerInfo{}, newError(ReasonServerNotAllowed, true, nil, "%s is not in the configured servers, and the configuration does not allow others", url)
	}
	s, ok := b.servers[url]
	var evicted []string
	if !ok {
		var err error
		if evicted, err = b.makeRoomLocked(); err != nil {
			b.mu.Unlock()
			return ServerInfo{}, err
		}
		s = &server{url: url, origin: OriginUser, tokens: map[string]*Token{}}
	}
	// Added by hand, it is the person's to remove: never evicted.
	s.scopes, s.keepWarm, s.byUse = scopes, keepWarm, false
	b.addServerLocked(s)
	b.warmLocked()
	b.publishLocked(s, EventChanged, nil)
	b.mu.Unlock()
	b.forget(evicted)
	if err := b.persist(bucketServers, url, serverRecord{V: recordVersion, URL: url, Scopes: scopes, KeepWarm: keepWarm, Added: true}); err != nil {
		return ServerInfo{}, newError(ReasonInternal, false, err, "cannot store the server")
	}
	return b.serverInfo(url)
}

// RemoveServer forgets a user-added server and its tokens.
func (b *Broker) RemoveServer(ctx context.Context, url string) error {
	b.mu.Lock()
	s, ok := b.servers[url]
	switch {
	case !ok:
		b.mu.Unlock()
		return newError(ReasonNotFound, true, nil, "%s is not a known server", url)
	case s.origin == OriginConfig:
		b.mu.Unlock()
		return newError(ReasonConfig, true, nil, "%s is defined in the configuration file; remove it there", url)
	}
	b.removeServerLocked(s)
	b.mu.Unlock()
	b.forget([]string{url})
	return nil
}

// Servers describes every known server, sorted by URL.
func (b *Broker) Servers() []ServerInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]ServerInfo, 0, len(b.servers))
	for _, s := range b.servers {
		out = append(out, b.serverInfoLocked(s))
	}
	sortByURL(out)
	return out
}

func sortByURL(list []ServerInfo) {
	slices.SortFunc(list, func(a, b ServerInfo) int { return strings.Compare(a.URL, b.URL) })
}

func (b *Broker) serverInfo(url string) (ServerInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.servers[url]
	if !ok {
		return ServerInfo{}, newError(ReasonNotFound, true, nil, "%s is not a known server", url)
	}
	return b.serverInfoLocked(s), nil
}

func (b *Broker) serverInfoLocked(s *server) ServerInfo {
	info := ServerInfo{
		URL: s.url, Scopes: slices.Clone(s.scopes), KeepWarm: s.keepWarm, Origin: s.origin,
		LastRefreshAt: s.lastRefAt, Counters: s.counters.snapshot(), LastUsedAt: s.counters.lastUsedAt(),
	}
	if s.meta != nil {
		info.Resource = s.meta.resource.Resource
		info.AuthServer = s.meta.as.Issuer
	}
	now := b.now()
	for _, t := range s.tokens {
		if info.Resource == "" {
			info.Resource, info.AuthServer = t.Resource, t.AuthServer
		}
		if t.ExpiresAt.After(now) && t.ExpiresAt.After(info.TokenExpiresAt) {
			info.TokenExpiresAt, info.TokenType = t.ExpiresAt, t.Type
		}
	}
	info.DPoP = b.dpopPolicyLocked(s, info.AuthServer)
	if s.lastErr != nil {
		info.LastError = s.lastErr.Error()
		info.LastErrorReason = s.lastErr.Reason
	}
	// Only what will happen: not a failure waiting for a person, nor a
	// token nobody uses.
	for _, e := range b.queue.Entries(s.url) {
		if !e.Permanent && !e.Idle && !e.Next.IsZero() && (info.NextRefreshAt.IsZero() || e.Next.Before(info.NextRefreshAt)) {
			info.NextRefreshAt = e.Next
		}
	}
	info.State = b.stateLocked(s, !info.TokenExpiresAt.IsZero())
	return info
}

// stateLocked is the state of s; valid reports a valid token held.
func (b *Broker) stateLocked(s *server, valid bool) ServerState {
	busy := s.refreshing.Load() > 0
	switch {
	case valid && busy:
		return ServerRefreshing
	case valid && s.lastErr != nil:
		return ServerStale
	case valid:
		return ServerReady
	case !b.canSignLocked():
		return ServerNeedsLogin
	case s.discovering.Load() > 0:
		return ServerDiscovering
	case busy:
		return ServerRefreshing
	case s.lastErr != nil && s.lastErr.Reason == ReasonLoginRequired:
		return ServerNeedsLogin
	case s.lastErr != nil:
		return ServerFailed
	}
	return ServerIdle
}

// canSignLocked reports whether tokens can be got without the person: a
// sign-in that is valid or renewable.
func (b *Broker) canSignLocked() bool {
	switch b.identityInfoLocked().State {
	case SignedIn, Refreshing:
		return true
	}
	return false
}

// serverFor returns the server entry for url: a registered one, or, when
// unlisted servers are allowed, the pending entry its first token is
// fetched for (unlisted.go); force tries a pending server that failed a
// moment ago again. Call release when the request is done.
func (b *Broker) serverFor(url string, force bool) (s *server, release func(), err error) {
	if _, err := httpx.CheckURL(url); err != nil {
		return nil, nil, newError(ReasonInvalidArgument, true, err, "bad MCP server URL")
	}
	b.mu.RLock()
	s, ok := b.servers[url]
	b.mu.RUnlock()
	if ok {
		return s, func() {}, nil
	}
	if !b.allowUnlisted() {
		return nil, nil, newError(ReasonServerNotAllowed, true, nil, "%s is not in the configured servers; ask your administrator to add it", url)
	}
	return b.unlistedServer(url, force)
}

// CachedToken returns a copy of the freshest valid cached token of url, or
// nil; it never goes upstream.
func (b *Broker) CachedToken(url string) *Token {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.servers[url]
	if !ok {
		return nil
	}
	var best *Token
	for _, t := range s.tokens {
		if t.ExpiresAt.After(b.now()) && (best == nil || t.ExpiresAt.After(best.ExpiresAt)) {
			best = t
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}
