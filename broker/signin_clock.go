package broker

import (
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// signinClock is the broker's clock as the interactive sign-in takes it:
// the clock itself when it is an internal/clock Clock (clock.Fake in
// tests), else its wall time with real timers, which is what the
// broker's own realClock and nowClock wait on.
func (b *Broker) signinClock() clock.Clock {
	if c, ok := b.clock.(clock.Clock); ok {
		return c
	}
	return wallClock{clock.Real{}, b.clock.Now}
}

// wallClock is clock.Real with another wall time.
type wallClock struct {
	clock.Real
	now func() time.Time
}

func (w wallClock) Now() time.Time { return w.now() }
