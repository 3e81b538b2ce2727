package broker

import "time"

// Clock is the broker's source of time. Now is wall time, used for every
// expiry; After waits on the monotonic clock, as Go timers do. The two
// disagree after a suspend or a wall-clock jump, which is how the
// scheduler notices them.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// nowClock adapts a Now function (tests that only fake the wall clock) to
// Clock; its timers are real.
type nowClock func() time.Time

func (f nowClock) Now() time.Time                       { return f() }
func (nowClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
