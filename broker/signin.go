package broker

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/xaad-dev/xaad/broker/identity"
)

// ImportIdentity adopts an ID token (and optionally a refresh token) that
// another tool obtained. The ID token must belong to the configured IdP and
// client, be unexpired, and pass signature verification when the IdP
// publishes its keys. Tokens cached for a different person are dropped.
func (b *Broker) ImportIdentity(ctx context.Context, idToken, refreshToken string) (IdentityInfo, error) {
	idToken = strings.TrimSpace(idToken)
	refreshToken = strings.TrimSpace(refreshToken)
	if idToken == "" {
		return IdentityInfo{}, newError(ReasonInvalidArgument, true, nil, "the ID token is empty")
	}
	c, err := b.verifier.Verify(ctx, idToken)
	if err != nil {
		switch {
		case errors.Is(err, identity.ErrExpired):
			return IdentityInfo{}, newError(ReasonInvalidArgument, true, err, "cannot import the ID token")
		case errors.Is(err, identity.ErrInvalid):
			return IdentityInfo{}, newError(ReasonInvalidArgument, true, err, "cannot import the ID token")
		default:
			return IdentityInfo{}, newError(ReasonUpstreamUnavailable, false, err, "cannot verify the ID token now")
		}
	}
	rec := &identityRecord{
		V: recordVersion, IDToken: idToken, RefreshToken: refreshToken,
		Issuer: c.Issuer, Subject: c.Subject, ExpiresAt: c.ExpiresAt, Verified: c.Verified, SignedInAt: b.now(),
	}
	if err := b.persist(bucketIdentity, identityKey, rec); err != nil {
		return IdentityInfo{}, newError(ReasonInternal, false, err, "cannot store the identity")
	}
	b.mu.Lock()
	samePerson := b.ident != nil && b.ident.Issuer == rec.Issuer && b.ident.Subject == rec.Subject
	b.ident = rec
	if !samePerson {
		for _, s := range b.servers {
			s.tokens = map[string]*Token{}
			s.lastErr = nil
		}
	}
	b.mu.Unlock()
	if !samePerson {
		b.unpersistPrefix(bucketTokens, "")
	}
	b.log.Info("identity imported", slog.String("issuer", c.Issuer), slog.String("subject", c.Subject),
		slog.Time("exp", c.ExpiresAt), slog.Bool("signature_verified", c.Verified))
	return b.Identity(), nil
}

// Identity describes the current enterprise identity.
func (b *Broker) Identity() IdentityInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.identityInfoLocked()
}

func (b *Broker) identityInfoLocked() IdentityInfo {
	r := b.ident
	if r == nil {
		return IdentityInfo{State: SignedOut, Issuer: b.cfg.IdP.Issuer}
	}
	info := IdentityInfo{
		State: SignedIn, Issuer: r.Issuer, Subject: r.Subject, ExpiresAt: r.ExpiresAt,
		HasRefreshToken: r.RefreshToken != "", Verified: r.Verified,
	}
	if !b.now().Before(r.ExpiresAt) {
		info.State = NeedsLogin
		info.Reason = "the ID token has expired"
	}
	return info
}

// subjectToken returns the ID token for an exchange, or an Error saying why
// there is none.
func (b *Broker) subjectToken() (string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ident == nil {
		return "", newError(ReasonLoginRequired, true, nil, "not signed in; run `xaactl login`")
	}
	if !b.now().Before(b.ident.ExpiresAt) {
		return "", newError(ReasonLoginRequired, true, nil, "the enterprise ID token expired at %s; run `xaactl login`", b.ident.ExpiresAt.UTC().Format("2006-01-02 15:04:05Z"))
	}
	return b.ident.IDToken, nil
}
