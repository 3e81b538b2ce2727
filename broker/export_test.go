package broker

import (
	"context"
	"time"
)

// TickForTest runs the refreshes due now, synchronously, and returns how
// many it ran: the refresh loop's work without its goroutines and timers.
func (b *Broker) TickForTest(ctx context.Context) int {
	keys, _ := b.queue.Due(b.now(), 0)
	for _, k := range keys {
		b.background(ctx, k)
		b.queue.Done(k, b.now())
	}
	return len(keys)
}

// RunIdentityRefreshForTest runs the ID token loop alone, so a test can
// follow its timers without the refresh queue's.
func (b *Broker) RunIdentityRefreshForTest(ctx context.Context) error {
	return b.runIdentityRefresh(ctx)
}

// SetIDSleepCapForTest changes the cap of the ID token loop's sleeps (0:
// none) before Run, for tests that follow the plan's own timers.
func (b *Broker) SetIDSleepCapForTest(d time.Duration) { b.idSleepCap = d }

// IDMaxSleep is the default cap of the ID token loop's sleeps.
const IDMaxSleep = idMaxSleep

// PendingForTest is how many requests hold the pending entry of the
// unlisted URL url.
func (b *Broker) PendingForTest(url string) int {
	b.unlisted.mu.Lock()
	defer b.unlisted.mu.Unlock()
	if p := b.unlisted.pending[url]; p != nil {
		return p.refs
	}
	return 0
}
