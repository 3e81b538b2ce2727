package broker

import (
	"context"
	"log/slog"
)

// Logout ends the enterprise sign-in: it revokes the IdP refresh token
// (RFC 7009) when the IdP advertises a revocation_endpoint, then forgets
// the identity and deletes every cached access token, in memory and in the
// store, and every refresh planned for them. Servers stay; watchers learn
// that they hold no valid token. revoked reports whether the IdP confirmed the
// revocation; a failed revocation is logged and the wipe happens anyway, so
// nothing of the session stays on this machine. It fails with
// LOGIN_IN_PROGRESS while a login runs.
func (b *Broker) Logout(ctx context.Context) (revoked bool, err error) {
	done, err := b.beginLogin()
	if err != nil {
		return false, err
	}
	defer done()
	b.mu.RLock()
	cur := b.ident
	b.mu.RUnlock()
	if cur != nil && cur.RefreshToken != "" {
		revoked = b.revoke(ctx, cur.RefreshToken)
	}
	b.signin.rec.Lock()
	b.unpersist(bucketIdentity, identityKey)
	b.signin.dirty = false
	b.mu.Lock()
	b.ident = nil
	b.gen.Add(1)
	for _, s := range b.servers {
		s.tokens, s.retired = map[string]*Token{}, nil
		s.lastErr = nil
	}
	// With the tokens, their plans: no background refresh fires later for
	// a sign-in that is gone.
	b.queue.Clear()
	b.publishChangesLocked()
	b.mu.Unlock()
	b.signin.rec.Unlock()
	b.unpersistPrefix(bucketTokens, "")
	b.signin.nudge()
	b.log.Info("signed out", slog.Bool("refresh_token_revoked", revoked))
	return revoked, nil
}

// revoke revokes the refresh token at the IdP, reporting success.
func (b *Broker) revoke(ctx context.Context, refreshToken string) bool {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout())
	defer cancel()
	meta, err := b.idpMetadata(ctx)
	if err != nil {
		b.log.Warn("cannot find the IdP's revocation endpoint; the refresh token is forgotten but not revoked", slog.String("error", err.Error()))
		return false
	}
	if meta.RevocationEndpoint == "" {
		b.log.Info("the IdP advertises no revocation_endpoint; the refresh token is forgotten, not revoked")
		return false
	}
	if err := grantRevoke(ctx, b, meta.RevocationEndpoint, refreshToken); err != nil {
		b.log.Warn("refresh token revocation failed; it is forgotten anyway", slog.String("error", err.Error()))
		return false
	}
	return true
}
