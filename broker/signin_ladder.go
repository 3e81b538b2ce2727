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
		return subject, b.exchangeRefusedFor(subject, refused)
	}
	b.log.Info("the IdP refused the subject token; refreshing the ID token once and retrying")
	err := b.renewIdentity(ctx, subject.idToken)
	if errors.Is(err, errNothingRenewed) {
		// The IdP renewed nothing: the refusal stands.
		return subject, b.exchangeRefusedFor(subject, refused)
	}
	if err != nil {
		return subject, err
	}
	s, err := b.subject(ctx)
	if err != nil {
		return subject, err
	}
	if s.token == subject.token {
		// Nothing new to present (the IdP renewed without an ID token):
		// a retry would only repeat the refusal.
		return subject, b.exchangeRefusedFor(subject, refused)
	}
	return s, nil
}

// exchangeRefusedFor classifies a failed token exchange of subject and,
// for a step-up demand (insufficient_user_authentication, RFC 9470 §3),
// moves the identity to NEEDS_LOGIN with the IdP's max_age and
// acr_values, which the next browser login sends: only while the identity
// still holds the subject the IdP refused, so a login that finished while
// the exchange ran is not undone.
func (b *Broker) exchangeRefusedFor(subject subjectCred, err error) error {
	var oe *grant.OAuthError
	if errors.As(err, &oe) && oe.Code == "insufficient_user_authentication" {
		b.log.Warn("the IdP demands a step-up sign-in", slog.String("max_age", oe.MaxAge), slog.String("acr_values", oe.ACRValues))
		b.enterNeedsLogin(subject.refused(), "the IdP requires a fresh, stronger sign-in", oe.MaxAge, oe.ACRValues, false)
	}
	return classifyIdP(err)
}

// refused names what an exchange with s presented.
func (s subjectCred) refused() refusedCred {
	r := refusedCred{idToken: s.idToken}
	if s.typ == grant.TokenTypeRefresh {
		r.refreshToken = s.token
	}
	return r
}
