package upstream

import (
	"fmt"
	"math"
	"time"
)

// Limit is a token bucket: Rate requests per second sustained, and up to
// Burst at once after a quiet period. Over any window of length w, a
// [Pacer] lets at most Rate·w + Burst requests through.
type Limit struct {
	Rate  float64
	Burst int
}

// DefaultLimit keeps one daemon below the strictest published per-user
// limit: Okta allows 4 requests per second per user on /oauth2/v1/token
// (and 40 per 10 s per endpoint). With 2/s and a burst of 2, no window of
// one second ever holds more than 2·1 + 2 = 4 requests, and no 10 s window
// more than 22. A burst of 4 would allow 6 in one second. Ten servers
// starting cold get their exchanges within 4 s (two at once, then one
// every 500 ms).
var DefaultLimit = Limit{Rate: 2, Burst: 2}

// Bounds of a Limit: beyond 1000/s a limit is no limit, and a burst larger
// than that would only defeat the rate.
const (
	MaxRate  = 1000
	MaxBurst = 1000
)

// withDefaults fills zero fields from DefaultLimit.
func (l Limit) withDefaults() Limit {
	if l.Rate == 0 {
		l.Rate = DefaultLimit.Rate
	}
	if l.Burst == 0 {
		l.Burst = DefaultLimit.Burst
	}
	return l
}

// Validate reports whether l, once zero fields take their defaults, is a
// usable limit.
func (l Limit) Validate() error {
	l = l.withDefaults()
	if math.IsNaN(l.Rate) || l.Rate <= 0 || l.Rate > MaxRate {
		return fmt.Errorf("rate limit of %v requests per second: must be above 0 and at most %d", l.Rate, MaxRate)
	}
	if l.Burst < 1 || l.Burst > MaxBurst {
		return fmt.Errorf("rate limit burst of %d: must be between 1 and %d", l.Burst, MaxBurst)
	}
	return nil
}

// String is the limit as status shows it.
func (l Limit) String() string { return fmt.Sprintf("%g/s, burst %d", l.Rate, l.Burst) }

// Pacer is the arithmetic of one endpoint: a token bucket, kept as GCRA
// (one "theoretical arrival time" instead of a token count, so every
// computation is exact integer nanoseconds and the time the k-th next
// request may go is known without reserving it), plus a hold a server
// asked for. It takes explicit times, holds no lock and starts no
// goroutine: a [Gate] wraps one, and a simulator can run many on a virtual
// clock. The zero Pacer is not usable: call [NewPacer]. A Pacer is a value;
// copying it copies its state.
type Pacer struct {
	limit Limit
	every time.Duration // 1/Rate, rounded up so the rate is never exceeded
	slack time.Duration // (Burst-1)·every: how early a request may come
	tat   time.Time     // a request may go from tat-slack on; the bucket is full again at tat; zero: full
	hold  time.Time     // nothing goes before it
	last  time.Time     // latest time seen, to notice a clock going back
}

// NewPacer returns a Pacer with a full bucket and no hold. Zero fields of
// l take [DefaultLimit]'s.
func NewPacer(l Limit) (*Pacer, error) {
	p := &Pacer{}
	if err := p.SetLimit(l, time.Time{}); err != nil {
		return nil, err
	}
	return p, nil
}

// Limit returns the limit in force.
func (p *Pacer) Limit() Limit { return p.limit }

// SetLimit changes the limit at now. Requests already let through still
// count, as a number of requests: a bucket that owed two intervals owes
// two intervals of the new rate.
func (p *Pacer) SetLimit(l Limit, now time.Time) error {
	if err := l.Validate(); err != nil {
		return err
	}
	l = l.withDefaults()
	every := time.Duration(math.Ceil(float64(time.Second) / l.Rate))
	base := now // a hold's drained bucket stays drained
	if p.hold.After(base) {
		base = p.hold
	}
	if p.tat.After(base) && p.every > 0 {
		owed := float64(p.tat.Sub(base)) / float64(p.every)
		p.tat = base.Add(time.Duration(math.Ceil(owed * float64(every))))
	}
	p.limit, p.every = l, every
	p.slack = time.Duration(l.Burst-1) * every
	if p.hold.After(now) {
		p.drain()
	}
	return nil
}

// Next returns the earliest time at or after now at which a request of
// priority prio may go, if nothing else goes first.
func (p *Pacer) Next(now time.Time, prio Priority) time.Time {
	p.seen(now)
	t := now
	if p.hold.After(t) {
		t = p.hold
	}
	if !p.tat.IsZero() {
		e := p.tat.Add(-p.slack)
		if prio == Background {
			// Background leaves callers one request of the burst, so a
			// caller who arrives just after a refresh does not wait for it.
			e = e.Add(min(p.every, p.slack))
		}
		if e.After(t) {
			t = e
		}
	}
	return t
}

// Take lets one request of priority prio through at now and reports
// whether it could go.
func (p *Pacer) Take(now time.Time, prio Priority) bool {
	if p.Next(now, prio).After(now) {
		return false
	}
	base := now
	if p.tat.After(now) {
		base = p.tat
	}
	p.tat = base.Add(p.every)
	return true
}

// Hold stops every request until until, clipped to now+[MaxHold], and
// reports whether that started or extended the hold (a hold is never
// shortened). The bucket is empty when the hold ends: a server that said
// "stop" gets one request at until, then the sustained rate, not a burst.
func (p *Pacer) Hold(until, now time.Time) bool {
	p.seen(now)
	if limit := now.Add(MaxHold); until.After(limit) {
		until = limit
	}
	if !until.After(now) || !until.After(p.hold) {
		return false
	}
	p.hold = until
	p.drain()
	return true
}

// drain empties the bucket at the hold's end.
func (p *Pacer) drain() {
	if empty := p.hold.Add(p.slack); p.tat.Before(empty) {
		p.tat = empty
	}
}

// HeldUntil returns the end of the hold in force at now, or the zero time.
func (p *Pacer) HeldUntil(now time.Time) time.Time {
	p.seen(now)
	if p.hold.After(now) {
		return p.hold
	}
	return time.Time{}
}

// seen notices the clock going back. The system clock's readings carry a
// monotonic reading, so this happens only with wall-only times (a fake or
// virtual clock's Jump): then the bucket and the hold move back with the
// clock, as if no time had passed, instead of stopping every request for
// the length of the jump.
func (p *Pacer) seen(now time.Time) {
	if !p.last.IsZero() && now.Before(p.last) {
		d := now.Sub(p.last)
		if !p.tat.IsZero() {
			p.tat = p.tat.Add(d)
		}
		if !p.hold.IsZero() {
			p.hold = p.hold.Add(d)
		}
	}
	p.last = now
}
