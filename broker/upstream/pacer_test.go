package upstream

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2100, 1, 1, 9, 0, 0, 0, time.UTC)

func mustPacer(t *testing.T, l Limit) *Pacer {
	t.Helper()
	p, err := NewPacer(l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLimitValidate(t *testing.T) {
	p := mustPacer(t, Limit{})
	if p.Limit() != DefaultLimit {
		t.Fatalf("zero limit became %v, want %v", p.Limit(), DefaultLimit)
	}
	if got := mustPacer(t, Limit{Rate: 10}).Limit(); got != (Limit{Rate: 10, Burst: DefaultLimit.Burst}) {
		t.Fatalf("zero burst: %v", got)
	}
	for _, l := range []Limit{
		{Rate: -1}, {Rate: math.NaN()}, {Rate: math.Inf(1)}, {Rate: MaxRate + 1},
		{Rate: 1, Burst: -1}, {Rate: 1, Burst: MaxBurst + 1},
	} {
		if _, err := NewPacer(l); err == nil {
			t.Errorf("limit %+v accepted", l)
		}
	}
}

// The default never exceeds Okta's published per-user limits on its token
// endpoint (4 per second, 40 per 10 seconds per endpoint), however the
// requests come.
func TestDefaultLimitStaysBelowOkta(t *testing.T) {
	times := greedy(mustPacer(t, DefaultLimit), 1000, Caller)
	if n := maxInWindow(times, time.Second); n > 4 {
		t.Errorf("%d requests in one second, Okta allows 4", n)
	}
	if n := maxInWindow(times, 10*time.Second); n > 40 {
		t.Errorf("%d requests in 10 seconds, Okta allows 40", n)
	}
}

// greedy sends n requests each as early as the pacer allows.
func greedy(p *Pacer, n int, prio Priority) []time.Time { return greedyFrom(p, t0, n, prio) }

func greedyFrom(p *Pacer, now time.Time, n int, prio Priority) []time.Time {
	var out []time.Time
	for range n {
		now = p.Next(now, prio)
		if !p.Take(now, prio) {
			panic("Take refused at the time Next gave")
		}
		out = append(out, now)
	}
	return out
}

// maxInWindow is the largest number of times within any closed window of
// length w; times are sorted.
func maxInWindow(times []time.Time, w time.Duration) int {
	best, lo := 0, 0
	for hi, t := range times {
		for t.Sub(times[lo]) > w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// checkRate asserts the token bucket's promise: within any window of
// length w, at most Rate·w + Burst requests.
func checkRate(t *testing.T, times []time.Time, l Limit) {
	t.Helper()
	for _, w := range []time.Duration{0, 250 * time.Millisecond, time.Second, 7 * time.Second, time.Minute, time.Hour} {
		bound := int(math.Floor(l.Rate*w.Seconds())) + l.Burst
		if n := maxInWindow(times, w); n > bound {
			t.Errorf("%d requests within %v, limit %v allows %d", n, w, l, bound)
		}
	}
}

// 10,000 greedy requests never exceed rate·t + burst, and the pacer does
// not fall behind its rate either: the last goes exactly when the rate
// says.
func TestPacerRateHoldsOverALongRun(t *testing.T) {
	for _, l := range []Limit{DefaultLimit, {Rate: 3, Burst: 5}, {Rate: 0.5, Burst: 1}, {Rate: 1000, Burst: 1}} {
		p := mustPacer(t, l)
		times := greedy(p, 10_000, Caller)
		checkRate(t, times, l)
		if n := maxInWindow(times, 0); n != l.Burst {
			t.Errorf("%v: %d at once, want the burst %d", l, n, l.Burst)
		}
		want := t0.Add(time.Duration(10_000-l.Burst) * p.every)
		if last := times[len(times)-1]; !last.Equal(want) {
			t.Errorf("%v: last request at %v, want %v", l, last.Sub(t0), want.Sub(t0))
		}
	}
}

// Random arrivals, random priorities and server holds: the bound holds,
// and nothing goes during a hold.
func TestPacerRandomLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := Limit{Rate: 2, Burst: 3}
	p := mustPacer(t, l)
	now := t0
	var times []time.Time
	var holds [][2]time.Time
	for len(times) < 10_000 {
		now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
		if rng.IntN(200) == 0 {
			until := now.Add(time.Duration(rng.Int64N(int64(30 * time.Second))))
			if p.Hold(until, now) {
				holds = append(holds, [2]time.Time{now, until})
			}
		}
		prio := Priority(rng.IntN(2))
		if p.Take(now, prio) {
			times = append(times, now)
		}
	}
	checkRate(t, times, l)
	for _, h := range holds {
		for _, x := range times {
			if !x.Before(h[0]) && x.Before(h[1]) {
				t.Fatalf("request at %v inside the hold %v..%v", x.Sub(t0), h[0].Sub(t0), h[1].Sub(t0))
			}
		}
	}
	if len(holds) == 0 {
		t.Fatal("the run set no hold; the test proves nothing about holds")
	}
}

// Background work leaves callers one request of the burst: right after a
// refresh, a caller goes at once and another refresh does not.
func TestPacerBackgroundLeavesCallersTheirShare(t *testing.T) {
	p := mustPacer(t, DefaultLimit) // 2/s, burst 2
	if !p.Take(t0, Background) {
		t.Fatal("background refused with a full bucket")
	}
	if p.Take(t0, Background) {
		t.Fatal("a second background request took the callers' share")
	}
	if got := p.Next(t0, Background); !got.Equal(t0.Add(500 * time.Millisecond)) {
		t.Fatalf("next background at %v, want +500ms", got.Sub(t0))
	}
	if !p.Take(t0, Caller) {
		t.Fatal("caller refused after one background request")
	}
	// Alone, background still gets the full rate.
	q := mustPacer(t, DefaultLimit)
	times := greedy(q, 101, Background)
	if d := times[100].Sub(times[0]); d != 50*time.Second {
		t.Fatalf("100 background intervals took %v, want 50s", d)
	}
	// With a burst of 1 there is no share to leave.
	r := mustPacer(t, Limit{Rate: 1, Burst: 1})
	r.Take(t0, Background)
	if got := r.Next(t0, Background); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("burst 1: next background at %v, want +1s", got.Sub(t0))
	}
}

func TestPacerHold(t *testing.T) {
	p := mustPacer(t, DefaultLimit)
	until := t0.Add(7 * time.Second)
	if !p.Hold(until, t0) {
		t.Fatal("Hold did not start a hold")
	}
	if p.Hold(t0.Add(3*time.Second), t0) {
		t.Fatal("a shorter hold shortened the hold in force")
	}
	if p.Hold(t0.Add(-time.Second), t0) {
		t.Fatal("a hold in the past counted")
	}
	for _, prio := range []Priority{Caller, Background} {
		if got := p.Next(t0.Add(time.Second), prio); got.Before(until) {
			t.Fatalf("%v may go at %v, before the hold ends", prio, got.Sub(t0))
		}
	}
	if got := p.HeldUntil(t0.Add(time.Second)); !got.Equal(until) {
		t.Fatalf("HeldUntil = %v", got)
	}
	if p.Take(until.Add(-time.Nanosecond), Caller) {
		t.Fatal("a caller went 1ns before the hold's end")
	}
	// The bucket is empty when the hold ends: one at until, then the rate.
	times := greedyFrom(p, until.Add(-time.Nanosecond), 3, Caller)
	want := []time.Duration{7 * time.Second, 7500 * time.Millisecond, 8 * time.Second}
	for i, x := range times {
		if x.Sub(t0) != want[i] {
			t.Fatalf("after the hold, request %d at %v, want %v", i, x.Sub(t0), want[i])
		}
	}
	if !p.HeldUntil(until).IsZero() {
		t.Fatal("still held at its end")
	}
	// Clipped to MaxHold.
	q := mustPacer(t, DefaultLimit)
	q.Hold(t0.Add(24*time.Hour), t0)
	if got := q.HeldUntil(t0); !got.Equal(t0.Add(MaxHold)) {
		t.Fatalf("a day's hold holds until %v, want +%v", got.Sub(t0), MaxHold)
	}
}

// A clock set back (a wall-only clock's jump) moves the bucket and the hold
// back with it instead of stopping requests for the length of the jump.
func TestPacerClockGoesBack(t *testing.T) {
	p := mustPacer(t, Limit{Rate: 1, Burst: 1})
	p.Take(t0, Caller)
	p.Hold(t0.Add(5*time.Second), t0)
	back := t0.Add(-time.Hour)
	if got := p.Next(back, Caller); !got.Equal(back.Add(5 * time.Second)) {
		t.Fatalf("after the clock went back 1h, next request at %v, want 5s later", got.Sub(back))
	}
}

// A new limit keeps what the bucket owes, counted in requests.
func TestPacerSetLimitKeepsTheDebt(t *testing.T) {
	p := mustPacer(t, Limit{Rate: 1, Burst: 1})
	p.Take(t0, Caller) // owes one interval: next at +1s
	if err := p.SetLimit(Limit{Rate: 0.1, Burst: 1}, t0); err != nil {
		t.Fatal(err)
	}
	if got := p.Next(t0, Caller); !got.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("after slowing to 0.1/s, next at +%v, want +10s", got.Sub(t0))
	}
	p.Hold(t0.Add(20*time.Second), t0)
	if err := p.SetLimit(Limit{Rate: 2, Burst: 2}, t0); err != nil {
		t.Fatal(err)
	}
	// Still drained at the hold's end: one at +20s, the next 500ms later.
	times := greedyFrom(p, t0, 2, Caller)
	if times[0].Sub(t0) != 20*time.Second || times[1].Sub(t0) != 20500*time.Millisecond {
		t.Fatalf("after the hold: %v, %v", times[0].Sub(t0), times[1].Sub(t0))
	}
	if err := p.SetLimit(Limit{Rate: -1}, t0); err == nil {
		t.Fatal("bad limit accepted")
	}
}
