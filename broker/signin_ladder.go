package broker

import (
	"context"
	"errors"
	"log/slog"

	"github.com/xaad-dev/xaad/broker/grant"
)

// renewSubject is the ladder's ID token step: the IdP refused subject with
// refused (invalid_grant or invalid_request), so the ID token is refreshed
// once and the new subject returned. Without a refresh token there is
// nothing to renew and the refusal stands.
func (b *Broker) renewSubject(ctx context.Context, subject subjectCred, refused error) (subjectCred, error) {
	b.mu.RLock()
	hasRT := b.ident != nil && b.ident.RefreshToken != ""
	b.mu.RUnlock()
	if !hasRT {
		return subject, b.exchangeRefused(refused)
	}
	b.log.Info("the IdP refused the subject token; refreshing the ID token once and retrying")
	if err := b.renewIdentity(ctx, subject.idToken); err != nil {
		return subject, err
	}
	s, err := b.subject(ctx)
	if err != nil {
		return subject, err
	}
	if s.token == subject.token {
		// Nothing new to present (the IdP renewed without an ID token):
		// a retry would only repeat the refusal.
		return subject, b.exchangeRefused(refused)
	}
	return s, nil
}

// exchangeRefused classifies a failed token exchange and, for a step-up
// demand (insufficient_user_authentication, RFC 9470 §3), moves the
// identity to NEEDS_LOGIN with the IdP's max_age and acr_values, which the
// next browser login sends.
func (b *Broker) exchangeRefused(err error) error {
	var oe *grant.OAuthError
	if errors.As(err, &oe) && oe.Code == "insufficient_user_authentication" {
		b.log.Warn("the IdP demands a step-up sign-in", slog.String("max_age", oe.MaxAge), slog.String("acr_values", oe.ACRValues))
		b.enterNeedsLogin("the IdP requires a fresh, stronger sign-in", oe.MaxAge, oe.ACRValues, false)
	}
	return classifyIdP(err)
}
