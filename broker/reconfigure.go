package broker

import (
	"log/slog"
	"slices"
	"time"

	"github.com/xaad-dev/xaad/broker/idtoken"
)

// Reconfigure swaps the configuration of a running broker: the IdP and its
// client, the clients at authorization servers, the DPoP policies, the
// configured servers, whether others are allowed, and the rate limits of
// the token endpoints. The daemon calls it on SIGHUP.
//
// newCfg is checked as [New] checks it; on error nothing changes. Process
// settings (Store, HTTP, Clock, Logger, timeouts and the like) are fixed at
// New, and newCfg's values for them are ignored.
//
// The result is what a restart with newCfg would give, without the restart:
//   - the identity stays unless the IdP issuer changed, because load ignores
//     an identity of another IdP; with it go every cached token;
//   - a server that is still configured, or user-added while unlisted
//     servers stay allowed, keeps its cached tokens, metadata and counters,
//     and takes its new scopes and keep_warm;
//   - any other server is forgotten, and its cached tokens are deleted from
//     the store too: a credential for a server the configuration no longer
//     allows should not linger on disk. User-added server records stay in the
//     store, as they do across a restart, so allowing unlisted servers again
//     brings them back.
//
// A refresh already in flight finishes with the configuration it started
// with, except that a token of a server's default scope set asked for
// before its scopes changed is dropped when the flight ends (the caller
// asks again under the new set). It is safe to call concurrently with
// every other method.
func (b *Broker) Reconfigure(newCfg Config) error {
	// Everything but the swappable fields stays as New set it.
	b.mu.RLock()
	cfg := b.cfg
	b.mu.RUnlock()
	cfg.IdP, cfg.AuthServers, cfg.DefaultClient = newCfg.IdP, newCfg.AuthServers, newCfg.DefaultClient
	cfg.DefaultClientIssuers, cfg.DefaultClientAnyIssuer = newCfg.DefaultClientIssuers, newCfg.DefaultClientAnyIssuer
	cfg.Servers, cfg.AllowUnlisted = newCfg.Servers, newCfg.AllowUnlisted
	cfg.AuthServerDPoP = newCfg.AuthServerDPoP
	cfg.Limits = newCfg.Limits
	// New validates cfg and builds the configured servers and the ID token
	// verifier exactly as a start would; the scratch broker is then dropped.
	next, err := New(cfg)
	if err != nil {
		return err
	}

	var forgotten, rescoped []string
	b.mu.Lock()
	issuerChanged := b.cfg.IdP.Issuer != cfg.IdP.Issuer
	if issuerChanged || b.cfg.IdP.TokenEndpoint != cfg.IdP.TokenEndpoint {
		b.idpMeta, b.idpFetched = nil, time.Time{}
	}
	if issuerChanged {
		b.prompt = nil // what sign-ins learnt of the old IdP
	}
	// Only the swappable fields are written: the others are read without
	// the lock elsewhere.
	b.cfg.IdP, b.cfg.AuthServers, b.cfg.DefaultClient = cfg.IdP, cfg.AuthServers, cfg.DefaultClient
	b.cfg.DefaultClientIssuers, b.cfg.DefaultClientAnyIssuer = cfg.DefaultClientIssuers, cfg.DefaultClientAnyIssuer
	b.cfg.Servers, b.cfg.AllowUnlisted = cfg.Servers, cfg.AllowUnlisted
	b.cfg.AuthServerDPoP = cfg.AuthServerDPoP
	b.cfg.Limits = cfg.Limits
	b.verifier = next.verifier
	dropIdentity := issuerChanged && b.ident != nil
	if dropIdentity {
		b.ident = nil
		b.gen.Add(1)
	}
	servers := next.servers
	for url, s := range b.servers {
		if n, ok := servers[url]; ok {
			if !slices.Equal(s.scopes, n.scopes) {
				// The default scope set changed: a token minted with the
				// old one must not be served as the new one.
				delete(s.tokens, scopeKey(nil))
				b.queue.Remove(planKey(s, scopeKey(nil)))
				s.scopeGen++ // and neither must one in flight (refresh)
				rescoped = append(rescoped, url)
			}
			s.scopes, s.keepWarm, s.idleAfter, s.origin, s.dpop = n.scopes, n.keepWarm, n.idleAfter, OriginConfig, n.dpop
			servers[url] = s
		} else if s.origin == OriginUser && cfg.AllowUnlisted {
			servers[url] = s
		} else {
			s.removed = true
			forgotten = append(forgotten, url)
			b.queue.RemoveServer(url)
			b.publishLocked(s, EventRemoved, nil)
		}
	}
	if dropIdentity {
		for _, s := range servers {
			s.tokens, s.retired, s.lastErr = map[string]*Token{}, nil, nil
		}
		b.queue.Clear()
	}
	b.servers = servers
	for _, s := range servers {
		b.queue.SetServer(s.url, s.policy())
	}
	b.warmLocked()
	for _, s := range servers {
		// Watchers learn of the new configuration (and their permission
		// to see it is checked again).
		b.publishLocked(s, EventChanged, nil)
	}
	b.mu.Unlock()

	if dropIdentity {
		b.unpersistPrefix(bucketTokens, "")
		b.log.Warn("the IdP changed; sign in again", slog.String("issuer", cfg.IdP.Issuer))
	}
	for _, url := range rescoped {
		b.unpersist(bucketTokens, tokenKey(url, scopeKey(nil)))
	}
	for _, url := range forgotten {
		b.unpersistPrefix(bucketTokens, url+"\x00")
		b.log.Info("forgot a server the configuration no longer allows", slog.String("server", url))
	}
	b.applyLimits()
	// New credentials or servers are what permanent errors waited for.
	b.retryFailed()
	b.log.Info("configuration swapped", slog.String("issuer", cfg.IdP.Issuer), slog.Int("servers", len(servers)))
	return nil
}

// The fields Reconfigure swaps (cfg.IdP, cfg.AuthServers, cfg.DefaultClient,
// cfg.AllowUnlisted, cfg.Limits and verifier) are guarded by mu; these
// (and limitFor) read them.

func (b *Broker) idpConfig() IdPConfig {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.cfg.IdP
}

func (b *Broker) allowUnlisted() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.cfg.AllowUnlisted
}

func (b *Broker) idVerifier() *idtoken.Verifier {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.verifier
}
