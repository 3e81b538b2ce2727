package broker

import (
	"context"
	"log/slog"
	"net/url"
	"slices"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/internal/origin"
)

// An MCP server may move to another authorization server: its protected
// resource metadata then names the new one, and it answers the old one's
// tokens with 401. MCP 2026-07-28 ("Authorization Server Binding"):
// credentials are bound to the issuer they were registered with, a client
// must not reuse them at another, and it learns of the change from the
// updated metadata. So a forced refresh (the caller's answer to a 401)
// reads the metadata again instead of trusting the cached copy for up to
// the discovery TTL, and metadata naming another issuer drops every token
// of the old one; the next grant goes to the new issuer with the
// credentials configured for it, never the old ones.

// rediscoverNext makes the server's next metadata lookup fetch it again,
// with the hints of the 401 the caller saw (nil: none).
func (b *Broker) rediscoverNext(srv *server, ch *Challenge) {
	if ch == nil {
		ch = &Challenge{}
	}
	b.mu.Lock()
	srv.rediscover = ch
	b.mu.Unlock()
	if ch.Error != "" {
		b.log.Info("the MCP server refused a token; reading its metadata again", slog.String("server", srv.url),
			slog.String("error", ch.Error))
	}
}

// protectedResource fetches the server's metadata. After a forced
// refresh it reads it again without probing the server: from the 401's
// resource_metadata when that URL is on the server's origin (the hint comes
// from another process, which must not point the daemon at metadata the
// server does not publish itself), else from where it was found last; with
// the 401's scope hint when it is valid, else the last one. Otherwise, and
// when there is nothing to start from, discovery probes as it does first.
func (b *Broker) protectedResource(ctx context.Context, srv *server) (*discovery.Resource, error) {
	b.mu.Lock()
	hints, prev := srv.rediscover, srv.meta
	srv.rediscover = nil
	b.mu.Unlock()
	if hints == nil {
		return b.disc.ProtectedResource(ctx, srv.url)
	}
	at, scopes := "", []string(nil)
	if prev != nil {
		at, scopes = prev.resource.MetadataURL, prev.resource.ChallengeScopes
	}
	if u, err := url.Parse(hints.ResourceMetadata); err == nil && hints.ResourceMetadata != "" && sameOrigin(u, srv.url) {
		at = hints.ResourceMetadata
	}
	if s, ok := httpx.SplitScope(hints.Scope); ok && len(s) > 0 {
		scopes = s
	}
	if at == "" {
		return b.disc.ProtectedResource(ctx, srv.url)
	}
	return b.disc.ProtectedResourceAt(ctx, srv.url, at, scopes)
}

// sameOrigin reports whether u is on the origin of the URL server.
func sameOrigin(u *url.URL, server string) bool {
	s, err := url.Parse(server)
	return err == nil && origin.Same(u, s)
}

// adoptMetadata caches m and drops every token of the server that another
// authorization server issued (tokens from the store carry their issuer,
// so this also holds after a restart): they are of no use at the server
// now, and refreshing them would ask the old issuer again.
func (b *Broker) adoptMetadata(srv *server, m *metadata) {
	b.mu.Lock()
	old := srv.meta
	srv.meta = m
	var dropped []string
	for key, t := range srv.tokens {
		if t.AuthServer != "" && t.AuthServer != m.as.Issuer {
			delete(srv.tokens, key)
			b.queue.Remove(planKey(srv, key))
			dropped = append(dropped, key)
		}
	}
	if len(dropped) > 0 {
		b.publishLocked(srv, EventChanged, nil)
	}
	b.mu.Unlock()
	for _, key := range dropped {
		b.unpersist(bucketTokens, tokenKey(srv.url, key))
	}
	if (old != nil && old.as.Issuer != m.as.Issuer) || len(dropped) > 0 {
		from := ""
		if old != nil {
			from = old.as.Issuer
		}
		b.log.Warn("the MCP server names another authorization server; its tokens of the old one are dropped",
			slog.String("server", srv.url), slog.String("from", from), slog.String("to", m.as.Issuer), slog.Int("tokens_dropped", len(dropped)))
	}
}

// defaultClientLocked returns the [default_client] credentials for issuer,
// if the configuration lets them go there. Secrets are bound to the
// authorization server that issued them: without a list of issuers or an
// explicit any_issuer they stay home. Keys and public clients present no
// secret (a private_key_jwt assertion names its audience), so they may go
// anywhere unless issuers says otherwise.
func (b *Broker) defaultClientLocked(issuer string) (grant.ClientAuth, error) {
	d := *b.cfg.DefaultClient
	switch {
	case len(b.cfg.DefaultClientIssuers) > 0:
		if slices.Contains(b.cfg.DefaultClientIssuers, issuer) {
			return d, nil
		}
		return grant.ClientAuth{}, newError(ReasonConfig, true, nil,
			"no client credentials for authorization server %q: it is not in [default_client] issuers, and has no [[authorization_server]] section; add one of the two (the issuer byte for byte)", issuer)
	case b.cfg.DefaultClientAnyIssuer, d.Method != grant.ClientSecretBasic && d.Method != grant.ClientSecretPost:
		return d, nil
	}
	return grant.ClientAuth{}, newError(ReasonConfig, true, nil,
		"no client credentials for authorization server %q: the [default_client] holds a client secret, which xaad presents only where it was made for (MCP 2026-07-28, Authorization Server Binding); add an [[authorization_server]] section for this issuer, name it in [default_client] issuers, or set any_issuer = true there", issuer)
}
