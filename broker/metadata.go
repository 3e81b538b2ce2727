package broker

import (
	"context"
	"log/slog"

	"github.com/xaad-dev/xaad/broker/grant"
)

// metadata returns the server's validated metadata, from the cache while it
// is younger than the discovery TTL unless fresh is set.
func (b *Broker) metadata(ctx context.Context, srv *server, fresh bool) (*metadata, error) {
	b.mu.RLock()
	m := srv.meta
	b.mu.RUnlock()
	if m != nil && !fresh && b.now().Sub(m.fetched) < b.cfg.discoveryTTL() {
		return m, nil
	}
	res, err := b.disc.ProtectedResource(ctx, srv.url)
	if err != nil {
		return nil, classifyDiscovery(err)
	}
	// MCP leaves the choice among several servers to the client; the
	// first listed is the one the resource prefers.
	as, err := b.disc.AuthServer(ctx, res.AuthorizationServers[0])
	if err != nil {
		return nil, classifyDiscovery(err)
	}
	m = &metadata{resource: res, as: as, fetched: b.now()}
	b.mu.Lock()
	srv.meta = m
	b.mu.Unlock()
	b.log.Debug("discovered metadata", slog.String("server", srv.url), slog.String("resource", res.Resource),
		slog.String("as", as.Issuer), slog.String("prm_url", res.MetadataURL), slog.String("as_metadata_url", as.MetadataURL))
	return m, nil
}

// idpEndpoint returns the IdP token endpoint with the client's credentials,
// discovering it when the configuration does not name it.
func (b *Broker) idpEndpoint(ctx context.Context) (*grant.Endpoint, error) {
	ep := &grant.Endpoint{URL: b.cfg.IdP.TokenEndpoint, Issuer: b.cfg.IdP.Issuer, Auth: b.cfg.IdP.Auth, HTTP: b.cfg.HTTP, Now: b.now}
	if ep.URL != "" {
		return ep, nil
	}
	b.mu.RLock()
	m, fetched := b.idpMeta, b.idpFetched
	b.mu.RUnlock()
	if m == nil || b.now().Sub(fetched) >= b.cfg.discoveryTTL() {
		var err error
		m, err = b.disc.IdP(ctx, b.cfg.IdP.Issuer)
		if err != nil {
			return nil, classifyDiscovery(err)
		}
		b.mu.Lock()
		b.idpMeta, b.idpFetched = m, b.now()
		b.mu.Unlock()
	}
	ep.URL = m.TokenEndpoint
	return ep, nil
}
