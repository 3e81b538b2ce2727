// Package clock is xaad's one source of time. Every part that plans,
// waits or stamps (the refresh scheduler, the ID token loop, the daemon's
// watchdog and audit log, the stdio bridge's token cache) takes a [Clock],
// so tests drive them with [Fake] instead of sleeping.
//
// A Clock has two faces, as the operating system does: Now is wall time,
// which expiries are computed in and which may jump (a suspend, an NTP
// step, a person setting the clock); timers and tickers run on monotonic
// time, which never jumps. Code that must notice a jump compares the two;
// code that measures liveness uses timers or counters, never Now.
package clock

import "time"

// Clock tells wall time and makes timers on the monotonic clock.
// Implementations are safe for concurrent use.
type Clock interface {
	// Now is the current wall time.
	Now() time.Time
	// After returns a channel that receives once d of monotonic time has
	// passed.
	After(d time.Duration) <-chan time.Time
	// NewTimer is After with a Stop, for loops that must not leave
	// timers behind.
	NewTimer(d time.Duration) Timer
	// NewTicker fires every d of monotonic time until stopped.
	NewTicker(d time.Duration) Ticker
}

// Timer is a one-shot timer of a [Clock].
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it was
	// still pending.
	Stop() bool
}

// Ticker is a repeating timer of a [Clock]. Like time.Ticker it drops
// ticks a slow reader misses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the system clock.
type Real struct{}

// System is the clock every component uses unless a test gives it another.
var System Clock = Real{}

// OrSystem returns c, or [System] when c is nil, so a nil Clock in a
// Config means the real one.
func OrSystem(c Clock) Clock {
	if c == nil {
		return System
	}
	return c
}

func (Real) Now() time.Time                         { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (Real) NewTimer(d time.Duration) Timer         { return realTimer{time.NewTimer(d)} }
func (Real) NewTicker(d time.Duration) Ticker       { return realTicker{time.NewTicker(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
