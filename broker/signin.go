package broker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/idtoken"
)

// ImportIdentity adopts an ID token (and optionally a refresh token) that
// another tool obtained. The ID token must belong to the configured IdP and
// client, be unexpired, and pass signature verification when the IdP
// publishes its keys. Tokens cached for a different person are dropped.
// It fails with LOGIN_IN_PROGRESS while another login runs.
func (b *Broker) ImportIdentity(ctx context.Context, idToken, refreshToken string) (IdentityInfo, error) {
	done, err := b.beginLogin()
	if err != nil {
		return IdentityInfo{}, err
	}
	defer done()
	idToken = strings.TrimSpace(idToken)
	refreshToken = strings.TrimSpace(refreshToken)
	if idToken == "" {
		return IdentityInfo{}, newError(ReasonInvalidArgument, true, nil, "the ID token is empty")
	}
	c, err := b.idVerifier().Verify(ctx, idToken)
	if err != nil {
		return IdentityInfo{}, idTokenError(err, "cannot import the ID token")
	}
	b.adopt(c, idToken, refreshToken, "imported")
	return b.Identity(), nil
}

// idTokenError classifies an ID token verification failure.
func idTokenError(err error, msg string) *Error {
	switch {
	case errors.Is(err, idtoken.ErrExpired), errors.Is(err, idtoken.ErrInvalid):
		return newError(ReasonInvalidArgument, true, err, "%s", msg)
	default:
		return newError(ReasonUpstreamUnavailable, false, err, "cannot verify the ID token now")
	}
}

// adopt makes a verified sign-in the identity: a new record (which ends
// NEEDS_LOGIN and any step-up), and, when the person changed, no tokens of
// the previous one.
func (b *Broker) adopt(c *idtoken.Claims, idToken, refreshToken, how string) {
	issued := c.IssuedAt
	if issued.IsZero() || issued.After(b.now()) {
		issued = b.now()
	}
	// Every sign-in gets a new DPoP key: a key outlives no sign-in.
	key, rawKey := b.newDPoPKey()
	var samePerson bool
	b.commitIdentity(func(cur *identityRecord) *identityRecord {
		samePerson = cur != nil && cur.Issuer == c.Issuer && cur.Subject == c.Subject
		return &identityRecord{
			V: recordVersion, IDToken: idToken, RefreshToken: refreshToken,
			Issuer: c.Issuer, Subject: c.Subject, ExpiresAt: c.ExpiresAt, Verified: c.Verified, SignedInAt: b.now(),
			signinFields: signinFields{IssuedAt: issued},
			DPoPKey:      rawKey, key: key,
		}
	})
	if !samePerson {
		// commitIdentity already dropped them from memory with the swap.
		b.unpersistPrefix(bucketTokens, "")
	} else {
		// Errors that needed a sign-in are answered now.
		b.mu.Lock()
		for _, s := range b.servers {
			if s.lastErr != nil && s.lastErr.Reason == ReasonLoginRequired {
				s.lastErr = nil
			}
		}
		// Bearer tokens stay; those bound to the old key cannot.
		gone := b.dropBoundTokensLocked()
		b.mu.Unlock()
		for _, k := range gone {
			b.unpersist(bucketTokens, k)
		}
	}
	// A new sign-in is what permanent errors waited for.
	b.retryFailed()
	b.mu.Lock()
	b.publishChangesLocked()
	b.mu.Unlock()
	b.log.Info("signed in", slog.String("how", how), slog.String("issuer", c.Issuer), slog.String("subject", c.Subject),
		slog.Time("exp", c.ExpiresAt), slog.Bool("signature_verified", c.Verified), slog.Bool("refresh_token", refreshToken != ""))
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
		info := IdentityInfo{State: SignedOut, Issuer: b.cfg.IdP.Issuer}
		info.NextPrompt, info.NextPromptReason = b.prompt.next()
		return info
	}
	info := IdentityInfo{
		State: SignedIn, Issuer: r.Issuer, Subject: r.Subject, ExpiresAt: r.ExpiresAt,
		HasRefreshToken: r.RefreshToken != "", Verified: r.Verified,
		MaxAge: r.MaxAge, ACRValues: r.ACRValues,
	}
	if r.key != nil {
		info.DPoPThumbprint, info.DPoPAlgorithm = r.key.Thumbprint(), string(r.key.Algorithm())
	}
	info.NextPrompt, info.NextPromptReason = b.prompt.next()
	switch {
	case r.NeedsLogin != "":
		info.State, info.Reason = NeedsLogin, r.NeedsLogin
	case b.renewing.Load():
		info.State = Refreshing
	case b.now().Before(r.ExpiresAt):
	case r.RefreshToken != "" && r.RefreshSubject:
		info.Reason = "the ID token has expired; the IdP takes the refresh token instead"
	case r.RefreshToken != "" && !r.NoRenewal:
		info.Reason = "the ID token has expired; it is renewed with the refresh token at the next request"
	case r.NoRenewal:
		info.State, info.Reason = NeedsLogin, "the ID token has expired and the IdP does not renew it"
	default:
		info.State, info.Reason = NeedsLogin, "the ID token has expired and there is no refresh token"
	}
	return info
}

// subjectCred is what a token exchange presents as subject_token.
type subjectCred struct {
	token string
	typ   string // grant.TokenTypeIDToken or grant.TokenTypeRefresh
	// idToken is the ID token the identity held when this was read, to
	// tell a later refresh apart.
	idToken string
}

// subject returns the subject token for an exchange: the ID token while it
// is valid; once it expired, a renewed one (refreshing now if the refresh
// loop has not), or the refresh token where the IdP takes it. Otherwise an
// Error saying why the person must sign in.
func (b *Broker) subject(ctx context.Context) (subjectCred, error) {
	s, renew, err := b.currentSubject()
	if !renew {
		return s, err
	}
	if err := b.renewIdentity(ctx, s.idToken); err != nil {
		return subjectCred{}, err
	}
	s, _, err = b.currentSubject()
	return s, err
}

// currentSubject reads the subject without network; renew reports an
// expired ID token that a refresh may renew.
func (b *Broker) currentSubject() (s subjectCred, renew bool, err error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	r := b.ident
	switch {
	case r == nil:
		return s, false, newError(ReasonLoginRequired, true, nil, "not signed in; run `xaactl login`")
	case r.NeedsLogin != "":
		msg := r.NeedsLogin + "; run `xaactl login`"
		if r.MaxAge != "" || r.ACRValues != "" {
			msg = r.NeedsLogin + "; run `xaactl login` (the IdP asks for a fresh, stronger sign-in)"
		}
		return s, false, newError(ReasonLoginRequired, true, nil, "%s", msg)
	case b.now().Before(r.ExpiresAt):
		return subjectCred{token: r.IDToken, typ: grant.TokenTypeIDToken, idToken: r.IDToken}, false, nil
	case r.RefreshToken != "" && r.RefreshSubject:
		return subjectCred{token: r.RefreshToken, typ: grant.TokenTypeRefresh, idToken: r.IDToken}, false, nil
	case r.RefreshToken != "" && !r.NoRenewal:
		return subjectCred{idToken: r.IDToken}, true, nil
	}
	return s, false, newError(ReasonLoginRequired, true, nil, "the enterprise ID token expired at %s; run `xaactl login`", r.ExpiresAt.UTC().Format("2006-01-02 15:04:05Z"))
}

// loginTimeout bounds a browser or device login in the daemon, so a client
// that vanished without cancelling cannot hold the login slot for ever.
const loginTimeout = 15 * time.Minute
