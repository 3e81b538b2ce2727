package broker

import (
	"log/slog"
	"sync"
	"time"
)

// Reasons of the sign-in, beside those of errors.go.
const (
	// ReasonLoginInProgress: another login is running; one at a time.
	ReasonLoginInProgress Reason = "LOGIN_IN_PROGRESS"
	// ReasonUnsupported: the IdP lacks what the request needs (an
	// authorization or device endpoint).
	ReasonUnsupported Reason = "UNSUPPORTED"
)

// signinFields are the sign-in state kept in the identity record.
type signinFields struct {
	// IssuedAt is when the ID token was received (for a login, its iat
	// when that is earlier); the refresh is planned from it.
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// NeedsLogin, when set, says why the user must sign in again; the
	// identity then serves no new token (cached ones stay valid).
	NeedsLogin string `json:"needs_login,omitempty"`
	// MaxAge and ACRValues are a step-up the IdP demanded
	// (insufficient_user_authentication, RFC 9470 §3).
	MaxAge    string `json:"max_age,omitempty"`
	ACRValues string `json:"acr_values,omitempty"`
	// RefreshSubject: the IdP renews without id_token but takes the
	// refresh token as subject_token (docs/protocol.md §2 step 7.2).
	RefreshSubject bool `json:"refresh_subject,omitempty"`
	// NoRenewal: the IdP renews without id_token and takes no refresh
	// token as subject; the identity ends with the ID token.
	NoRenewal bool `json:"no_renewal,omitempty"`
}

// signinState is the broker's sign-in machinery. Lock order: login, then
// rec, then Broker.mu.
type signinState struct {
	// login is held for the whole of one login or logout: one at a time.
	login sync.Mutex
	// rec serialises every change of the identity record (store write,
	// then memory), so a refresh finishing late cannot overwrite a login.
	rec sync.Mutex
	// dirty reports a record that could not be stored; the refresh loop
	// writes it again. Guarded by rec.
	dirty bool

	wakeOnce sync.Once
	wake     chan struct{}

	// notified is the record whose NEEDS_LOGIN was announced, so the
	// person hears of it once. Guarded by rec.
	notified *identityRecord
}

// wakeCh returns the channel that nudges the ID token refresh loop.
func (s *signinState) wakeCh() chan struct{} {
	s.wakeOnce.Do(func() { s.wake = make(chan struct{}, 1) })
	return s.wake
}

func (s *signinState) nudge() {
	select {
	case s.wakeCh() <- struct{}{}:
	default:
	}
}

// beginLogin takes the one-login-at-a-time slot or says who has it.
func (b *Broker) beginLogin() (func(), error) {
	if !b.signin.login.TryLock() {
		return nil, newError(ReasonLoginInProgress, false, nil, "another sign-in is already running; finish or cancel it first")
	}
	return b.signin.login.Unlock, nil
}

// commitIdentity replaces the identity record: store first, memory second,
// so a crash in between leaves the new record on disk (and a rotated
// refresh token is never only in memory while the old one is on disk,
// unless the store fails; then dirty makes the refresh loop retry). next
// returns the new record, or nil to leave everything as is. It runs under
// signin.rec with the current record.
func (b *Broker) commitIdentity(next func(cur *identityRecord) *identityRecord) *identityRecord {
	b.signin.rec.Lock()
	defer b.signin.rec.Unlock()
	b.mu.RLock()
	cur := b.ident
	b.mu.RUnlock()
	rec := next(cur)
	if rec == nil {
		return nil
	}
	if err := b.persist(bucketIdentity, identityKey, rec); err != nil {
		b.signin.dirty = true
	} else {
		b.signin.dirty = false
	}
	b.mu.Lock()
	if cur == nil || cur.Issuer != rec.Issuer || cur.Subject != rec.Subject {
		// Another person: in the same critical section as the swap, so no
		// token, spare or flight of the previous one is served after it.
		b.gen.Add(1)
		for _, s := range b.servers {
			s.tokens, s.retired = map[string]*Token{}, nil
			s.lastErr = nil
		}
		// What the previous person used says nothing of this one.
		b.queue.Clear()
	}
	b.ident = rec
	b.warmLocked()
	b.publishChangesLocked()
	b.mu.Unlock()
	b.signin.nudge()
	return rec
}

// flushIdentity stores the record again after a failed write.
func (b *Broker) flushIdentity() {
	b.signin.rec.Lock()
	defer b.signin.rec.Unlock()
	if !b.signin.dirty {
		return
	}
	b.mu.RLock()
	cur := b.ident
	b.mu.RUnlock()
	if cur == nil {
		b.signin.dirty = false
		return
	}
	if err := b.persist(bucketIdentity, identityKey, cur); err == nil {
		b.signin.dirty = false
		b.log.Info("stored the identity record after an earlier failure")
	}
}

// storeDirty reports an identity record the store has not taken yet.
func (b *Broker) storeDirty() bool {
	b.signin.rec.Lock()
	defer b.signin.rec.Unlock()
	return b.signin.dirty
}

// refusedCred names the credentials a refused request presented: the ID
// token the identity held and, for a refresh or a refresh token subject,
// the refresh token. An empty field matches any record.
type refusedCred struct {
	idToken      string
	refreshToken string
}

// heldBy reports whether cur still holds the refused credentials.
func (r refusedCred) heldBy(cur *identityRecord) bool {
	return (r.idToken == "" || cur.IDToken == r.idToken) &&
		(r.refreshToken == "" || cur.RefreshToken == r.refreshToken)
}

// enterNeedsLogin moves the identity to NEEDS_LOGIN with reason and any
// step-up, drops a refresh token the IdP refused, and announces it once.
// refused is what the IdP refused: a record that no longer holds it (a
// login or refresh replaced it while the request ran) stays as it is.
func (b *Broker) enterNeedsLogin(refused refusedCred, reason, maxAge, acr string, dropRefresh bool) {
	rec := b.commitIdentity(func(cur *identityRecord) *identityRecord {
		if cur == nil {
			return nil
		}
		if !refused.heldBy(cur) {
			b.log.Info("the IdP refused an earlier sign-in; the current one stays", slog.String("reason", reason))
			return nil
		}
		n := *cur
		n.NeedsLogin, n.MaxAge, n.ACRValues = reason, maxAge, acr
		if dropRefresh {
			n.RefreshToken, n.RefreshSubject = "", false
		}
		return &n
	})
	if rec != nil {
		b.log.Warn("sign-in needed", slog.String("reason", reason), slog.String("max_age", maxAge), slog.String("acr_values", acr))
		b.announce(rec)
	}
}

// announce tells the daemon, once per record, that the person must sign in.
func (b *Broker) announce(rec *identityRecord) {
	b.signin.rec.Lock()
	first := b.signin.notified == nil || b.signin.notified.IDToken != rec.IDToken
	if first {
		b.signin.notified = rec
	}
	b.signin.rec.Unlock()
	if first && b.cfg.OnNeedsLogin != nil {
		b.cfg.OnNeedsLogin(b.Identity())
	}
}
