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
	fresh = fresh || srv.rediscover != nil
	b.mu.RUnlock()
	if m != nil && !fresh && b.now().Sub(m.fetched) < b.cfg.discoveryTTL() {
		return m, nil
	}
	// Concurrent callers (GetAssertion is not single-flighted per token)
	// share one discovery.
	start := b.now()
	ch := b.flights.DoChan("meta\x00"+srv.url, func() (any, error) {
		b.mu.RLock()
		m := srv.meta
		b.mu.RUnlock()
		if m != nil && !m.fetched.Before(start) {
			return m, nil
		}
		return b.flight(func(dctx context.Context) (any, error) { return b.discover(dctx, srv) })
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*metadata), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// discover fetches and validates the server's metadata and caches it.
func (b *Broker) discover(ctx context.Context, srv *server) (*metadata, error) {
	srv.discovering.Add(1)
	defer srv.discovering.Add(-1)
	if srv.pending.Load() {
		// Shared, it outlives the request that started it: bounded as
		// that request's flight is (unlisted.go).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, UnlistedTimeout)
		defer cancel()
	}
	res, err := b.protectedResource(ctx, srv)
	if err != nil {
		return nil, classifyDiscovery(err)
	}
	// MCP leaves the choice among several servers to the client; the
	// first listed is the one the resource prefers.
	as, err := b.disc.AuthServer(ctx, res.AuthorizationServers[0])
	if err != nil {
		return nil, classifyDiscovery(err)
	}
	m := &metadata{resource: res, as: as, fetched: b.now()}
	b.adoptMetadata(srv, m)
	b.log.Debug("discovered metadata", slog.String("server", srv.url), slog.String("resource", res.Resource),
		slog.String("as", as.Issuer), slog.String("prm_url", res.MetadataURL), slog.String("as_metadata_url", as.MetadataURL))
	return m, nil
}

// idpEndpoint returns the IdP token endpoint with the client's credentials,
// discovering it when the configuration does not name it.
func (b *Broker) idpEndpoint(ctx context.Context) (*grant.Endpoint, error) {
	idp := b.idpConfig()
	ep := &grant.Endpoint{URL: idp.TokenEndpoint, Issuer: idp.Issuer, Auth: idp.Auth, HTTP: b.cfg.HTTP, Now: b.clock.Now}
	b.gated(UpstreamIdP, ep)
	if ep.URL != "" {
		return ep, nil
	}
	m, err := b.idpMetadata(ctx)
	if err != nil {
		return nil, err
	}
	ep.URL = m.TokenEndpoint
	return ep, nil
}
