package broker

import (
	"context"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/grant"
)

// idpMetadata returns the IdP's discovered metadata, from the cache that
// idpEndpoint shares while it is younger than the discovery TTL. Sign-in
// needs it even when the configuration names the token endpoint.
func (b *Broker) idpMetadata(ctx context.Context) (*discovery.AuthServer, error) {
	idp := b.idpConfig()
	b.mu.RLock()
	m, fetched := b.idpMeta, b.idpFetched
	b.mu.RUnlock()
	if m != nil && m.Issuer == idp.Issuer && b.now().Sub(fetched) < b.cfg.discoveryTTL() {
		return m, nil
	}
	// One discovery however many callers arrive at once.
	ch := b.flights.DoChan("idp-meta\x00"+idp.Issuer, func() (any, error) {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*b.cfg.timeout())
		defer cancel()
		m, err := b.disc.IdP(dctx, idp.Issuer)
		if err != nil {
			return nil, classifyDiscovery(err)
		}
		b.mu.Lock()
		b.idpMeta, b.idpFetched = m, b.now()
		b.mu.Unlock()
		return m, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*discovery.AuthServer), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// idpURLEndpoint is the IdP client at another endpoint of the IdP (device
// authorization, revocation); client assertions name the issuer.
func (b *Broker) idpURLEndpoint(url string) *grant.Endpoint {
	idp := b.idpConfig()
	return &grant.Endpoint{URL: url, Issuer: idp.Issuer, Auth: idp.Auth, HTTP: b.cfg.HTTP, Now: b.clock.Now}
}

// grantRevoke revokes a refresh token at the IdP's revocation endpoint.
func grantRevoke(ctx context.Context, b *Broker, url, refreshToken string) error {
	return grant.Revoke(ctx, b.idpURLEndpoint(url), refreshToken, "refresh_token")
}
