package broker

import (
	"context"
	"time"
)

// expiryRecheck caps the expiry watch's sleep: timers count monotonic
// time, which stands still while the machine is suspended, so after a
// resume an uncapped timer would fire long after the token ran out.
const expiryRecheck = time.Minute

// runExpiryWatch publishes, when a held access token runs out, the
// servers whose state that changed. A server's state counts its valid
// tokens (serverInfoLocked), so one whose token expired without a new one
// (signed out, NEEDS_LOGIN, refreshes failing) goes from READY or STALE
// to NEEDS_LOGIN, FAILED or IDLE with no refresh or sign-in event of its
// own; without this, health and WatchTokens would go on showing a token
// that is gone. [Broker.Run] runs it; it returns nil when ctx ends.
func (b *Broker) runExpiryWatch(ctx context.Context) error {
	for {
		// First, so an expiry that passed while this loop was busy, with
		// no valid token left to set a timer for, is published too.
		b.mu.Lock()
		b.publishExpiredLocked()
		b.mu.Unlock()
		// Armed with no token held too: a token stored by a path that
		// does not nudge is seen within expiryRecheck, and the loop's
		// timers do not come and go with the tokens.
		d := expiryRecheck
		if next := b.nextExpiry(); !next.IsZero() {
			d = min(next.Sub(b.now()), d)
		}
		t := b.clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		case <-b.expiryWakeCh():
			// A new token: its expiry may be the next one.
		}
		t.Stop()
	}
}

// nextExpiry is the earliest expiry of a token still valid, or zero.
func (b *Broker) nextExpiry() time.Time {
	b.mu.RLock()
	defer b.mu.RUnlock()
	now := b.now()
	var next time.Time
	for _, s := range b.servers {
		for _, t := range s.tokens {
			if t.ExpiresAt.After(now) && (next.IsZero() || t.ExpiresAt.Before(next)) {
				next = t.ExpiresAt
			}
		}
	}
	return next
}

// expiryWakeCh nudges runExpiryWatch to look again at the held tokens.
func (b *Broker) expiryWakeCh() chan struct{} {
	b.expiryWakeOnce.Do(func() { b.expiryWake = make(chan struct{}, 1) })
	return b.expiryWake
}

// nudgeExpiry is called when a token is stored; it never blocks.
func (b *Broker) nudgeExpiry() {
	select {
	case b.expiryWakeCh() <- struct{}{}:
	default:
	}
}
