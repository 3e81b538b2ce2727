package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

func newTestGate(t *testing.T, l Limit) (*Gate, *clock.Fake) {
	t.Helper()
	fk := clock.NewFake(t0)
	g, err := New(Config{Name: "token endpoint https://idp.example/token", Limit: l, Setting: "rate_limit in [idp]", Clock: fk})
	if err != nil {
		t.Fatal(err)
	}
	return g, fk
}

// await blocks until cond, read under the gate's lock, holds. The gate
// broadcasts every queue change, so no test sleeps or polls.
func await(g *Gate, cond func() bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !cond() {
		g.changed.Wait()
	}
}

func queued(g *Gate, p Priority, n int) func() bool {
	return func() bool { return len(g.queues[p]) == n }
}

type outcome struct {
	id  string
	err error
}

// launch starts a Wait in its own goroutine and returns once it is queued
// (the queue of its priority has grown to n).
func launch(g *Gate, ctx context.Context, p Priority, id string, n int, out chan<- outcome) {
	go func() { out <- outcome{id, g.Wait(ctx, p)} }()
	await(g, queued(g, p, n))
}

// launchUntil is launch with a deadline on the gate's (fake) clock.
func launchUntil(g *Gate, p Priority, deadline time.Time, id string, n int, out chan<- outcome) {
	go func() { out <- outcome{id, g.WaitUntil(context.Background(), p, deadline)} }()
	await(g, queued(g, p, n))
}

// exhaust empties the bucket at the current time.
func exhaust(t *testing.T, g *Gate) {
	t.Helper()
	for range g.pacer.Limit().Burst {
		if err := g.Wait(context.Background(), Caller); err != nil {
			t.Fatal(err)
		}
	}
}

// next receives the one outcome the last step released and checks that no
// other is pending.
func next(t *testing.T, out <-chan outcome) outcome {
	t.Helper()
	o := <-out
	select {
	case extra := <-out:
		t.Fatalf("%s and %s were both let through in one step", o.id, extra.id)
	default:
	}
	return o
}

// stepNothing advances by d and checks that the gate's timer has not fired:
// nothing was let through.
func stepNothing(t *testing.T, fk *clock.Fake, g *Gate, d time.Duration) {
	t.Helper()
	passed := g.Snapshot().Stats.Passed
	fk.Advance(d)
	if fk.Waiters() != 1 {
		t.Fatalf("after %v the gate's timer fired or vanished", d)
	}
	if now := g.Snapshot().Stats.Passed; now != passed {
		t.Fatalf("%d requests let through early", now-passed)
	}
}

func TestGateCallersGoInOrder(t *testing.T) {
	g, fk := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	ids := []string{"c1", "c2", "c3", "c4", "c5"}
	for i, id := range ids {
		launch(g, context.Background(), Caller, id, i+1, out)
	}
	for i, id := range ids {
		stepNothing(t, fk, g, 999*time.Millisecond)
		fk.Advance(time.Millisecond)
		if o := next(t, out); o.id != id || o.err != nil {
			t.Fatalf("step %d let %s through (err %v), want %s", i, o.id, o.err, id)
		}
		await(g, queued(g, Caller, len(ids)-i-1))
	}
	s := g.Snapshot().Stats
	if s.Passed != 6 || s.Waited != 5 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGateBackgroundYieldsToCallers(t *testing.T) {
	g, fk := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	launch(g, context.Background(), Background, "b1", 1, out)
	launch(g, context.Background(), Background, "b2", 2, out)
	launch(g, context.Background(), Caller, "c1", 1, out)
	launch(g, context.Background(), Caller, "c2", 2, out)
	var order []string
	for i := range 5 {
		fk.Advance(time.Second)
		order = append(order, next(t, out).id)
		if i == 0 { // a caller who comes later still goes before background work
			await(g, queued(g, Caller, 1))
			launch(g, context.Background(), Caller, "c3", 2, out)
		}
		await(g, func() bool { return len(g.queues[Caller])+len(g.queues[Background]) == 4-i })
	}
	if got := strings.Join(order, " "); got != "c1 c2 c3 b1 b2" {
		t.Fatalf("order %q, want callers first, each kind in arrival order", got)
	}
	if s := g.Snapshot().Stats; s.Background != 2 || s.Passed != 6 {
		t.Fatalf("stats %+v", s)
	}
}

// With a burst of 2, a caller who arrives right after a background refresh
// goes at once: background leaves callers their share.
func TestGateCallerRightAfterBackground(t *testing.T) {
	g, _ := newTestGate(t, DefaultLimit)
	if err := g.Wait(context.Background(), Background); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitUntil(context.Background(), Background, t0.Add(time.Millisecond)); !errors.Is(err, ErrLimited) {
		t.Fatalf("second background request: %v, want ErrLimited (its turn is 500ms away)", err)
	}
	if err := g.WaitUntil(context.Background(), Caller, t0.Add(time.Millisecond)); err != nil {
		t.Fatalf("caller after a background request: %v", err)
	}
}

func TestGateDeadlineBeforeTurnFailsAtOnce(t *testing.T) {
	g, _ := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	for i := range 3 { // turns at +1s, +2s, +3s
		launch(g, context.Background(), Caller, "c", i+1, out)
	}
	for _, dl := range []time.Duration{3500 * time.Millisecond, 4 * time.Second} {
		err := g.WaitUntil(context.Background(), Caller, t0.Add(dl))
		var we *WaitError
		if !errors.As(err, &we) || !errors.Is(err, ErrLimited) {
			t.Fatalf("deadline +%v: %v, want a WaitError for ErrLimited", dl, err)
		}
		if !we.Until.Equal(t0.Add(4*time.Second)) || !we.Deadline.Equal(t0.Add(dl)) || we.Priority != Caller {
			t.Fatalf("deadline +%v: %+v, want Until +4s", dl, we)
		}
		if msg := err.Error(); !strings.Contains(msg, "2100-01-01T09:00:04Z") || !strings.Contains(msg, "raise rate_limit in [idp]") {
			t.Fatalf("message %q does not say when or what to change", msg)
		}
	}
	launchUntil(g, Caller, t0.Add(4*time.Second+time.Nanosecond), "in time", 4, out)
	// Background: its turn comes after every caller (+5s).
	err := g.WaitUntil(context.Background(), Background, t0.Add(4500*time.Millisecond))
	var we *WaitError
	if !errors.As(err, &we) || !errors.Is(err, ErrLimited) || !we.Until.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("background: %v (%+v), want ErrLimited until +5s", err, we)
	}
	if s := g.Snapshot(); s.Stats.Rejected != 3 || s.Callers != 4 {
		t.Fatalf("snapshot %+v", s)
	}
}

func hint7(now time.Time) Hint {
	return ParseRetry(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, now, MaxHold)
}

// passedBy is how many of n requests paced at 2/s from start have gone by
// at.
func passedBy(at, start time.Duration, n int) int {
	if at < start {
		return 0
	}
	return min(1+int((at-start)/(500*time.Millisecond)), n)
}

// A 429 with Retry-After: 7 holds every request, callers and background,
// for exactly 7 seconds, counted in 100 ms steps; then the bucket restarts
// empty: one caller at 7 s and one every 500 ms; background work waits
// until a request of the burst is spare again (one interval after the last
// caller) and goes at the same pace.
func TestGateHoldLetsNothingThrough(t *testing.T) {
	g, fk := newTestGate(t, DefaultLimit)
	g.Observe(http.StatusTooManyRequests, hint7(t0))
	out := make(chan outcome, 20)
	var want []string
	for i := range 10 {
		id := "c" + string(rune('0'+i))
		launch(g, context.Background(), Caller, id, i+1, out)
		want = append(want, id)
	}
	for i := range 5 {
		id := "b" + string(rune('0'+i))
		launch(g, context.Background(), Background, id, i+1, out)
		want = append(want, id)
	}
	var got []string
	for step := 1; len(got) < 15; step++ {
		at := time.Duration(step) * 100 * time.Millisecond
		if at < 7*time.Second {
			stepNothing(t, fk, g, 100*time.Millisecond)
			continue
		}
		fk.Advance(100 * time.Millisecond)
		expect := passedBy(at, 7*time.Second, 10) + passedBy(at, 12500*time.Millisecond, 5)
		await(g, func() bool { return g.stats.Passed >= uint64(expect) })
		if p := g.Snapshot().Stats.Passed; p != uint64(expect) {
			t.Fatalf("at +%v %d let through, want %d", at, p, expect)
		}
		for len(got) < expect {
			got = append(got, (<-out).id)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", got, want)
	}
	s := g.Snapshot().Stats
	if s.TooMany != 1 || s.Holds != 1 || s.Background != 5 {
		t.Fatalf("stats %+v", s)
	}
}

// A hold that arrives while requests wait turns away, at once, those whose
// deadline comes before it ends; later callers whose deadline is earlier
// are turned away on arrival. The error names the server's time.
func TestGateHoldTurnsAwayWhoCannotWait(t *testing.T) {
	g, fk := newTestGate(t, DefaultLimit)
	exhaust(t, g)
	out := make(chan outcome, 10)
	launch(g, context.Background(), Caller, "patient", 1, out)
	launchUntil(g, Caller, t0.Add(5*time.Second), "hurried", 2, out)
	h := hint7(t0)
	g.Observe(http.StatusTooManyRequests, h)
	o := <-out
	var we *WaitError
	if o.id != "hurried" || !errors.As(o.err, &we) || !errors.Is(o.err, ErrHeld) {
		t.Fatalf("%s: %v, want hurried turned away with ErrHeld", o.id, o.err)
	}
	if !we.Until.Equal(t0.Add(7500*time.Millisecond)) || we.Hold != h {
		t.Fatalf("WaitError %+v, want Until +7.5s (after the patient caller) and the hold", we)
	}
	if msg := o.err.Error(); !strings.Contains(msg, "Retry-After asks to wait 7s") {
		t.Fatalf("message %q does not say what the server asked", msg)
	}
	if err := g.WaitUntil(context.Background(), Background, t0.Add(6*time.Second)); !errors.Is(err, ErrHeld) {
		t.Fatalf("background with an earlier deadline: %v, want ErrHeld", err)
	}
	launchUntil(g, Caller, t0.Add(time.Minute), "in time", 2, out)
	snap := g.Snapshot()
	if !snap.HeldUntil.Equal(t0.Add(7*time.Second)) || snap.Hold != h || !snap.Held() || snap.Callers != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	if !snap.NextCaller.Equal(t0.Add(8 * time.Second)) {
		t.Fatalf("a caller arriving now would go at +%v, want +8s", snap.NextCaller.Sub(t0))
	}
	fk.Advance(7 * time.Second)
	if o := next(t, out); o.id != "patient" || o.err != nil {
		t.Fatalf("%s: %v", o.id, o.err)
	}
	// A shorter hint does not shorten a hold; a longer one extends it.
	g.Observe(http.StatusServiceUnavailable, Hint{At: fk.Now().Add(time.Second), Asked: time.Second, Field: RetryAfter})
	if s := g.Snapshot(); s.Stats.Holds != 2 || s.Stats.Unavailable != 1 {
		t.Fatalf("stats %+v", s.Stats)
	}
}

func TestGateCancelledWaiterLeavesItsTurn(t *testing.T) {
	g, fk := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	ctx, cancel := context.WithCancel(context.Background())
	launch(g, ctx, Caller, "leaves", 1, out)
	launch(g, context.Background(), Caller, "stays", 2, out)
	cancel()
	if o := <-out; o.id != "leaves" || !errors.Is(o.err, context.Canceled) {
		t.Fatalf("%s: %v, want context.Canceled", o.id, o.err)
	}
	await(g, queued(g, Caller, 1))
	fk.Advance(time.Second) // the cancelled waiter's turn goes to the next
	if o := next(t, out); o.id != "stays" || o.err != nil {
		t.Fatalf("%s: %v", o.id, o.err)
	}
	if err := g.Wait(ctx, Caller); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
	s := g.Snapshot()
	if s.Stats.Cancelled != 1 || s.Callers != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	await(g, func() bool { return g.timer == nil })
}

func TestGateQueueIsBounded(t *testing.T) {
	fk := clock.NewFake(t0)
	g, err := New(Config{Name: "as", Limit: Limit{Rate: 1, Burst: 1}, MaxQueue: 3, Clock: fk})
	if err != nil {
		t.Fatal(err)
	}
	exhaust(t, g)
	out := make(chan outcome, 10)
	for i := range 3 {
		launch(g, context.Background(), Caller, "c", i+1, out)
	}
	err = g.Wait(context.Background(), Caller)
	var we *WaitError
	if !errors.As(err, &we) || !errors.Is(err, ErrQueueFull) || !we.Until.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("fourth caller: %v (%+v), want ErrQueueFull until +4s", err, we)
	}
	launch(g, context.Background(), Background, "b", 1, out) // each priority has its own bound
}

func TestGateObserve(t *testing.T) {
	g, fk := newTestGate(t, DefaultLimit)
	if h := g.ObserveError(nil); !h.IsZero() {
		t.Fatal("nil error gave a hint")
	}
	if h := g.ObserveError(errors.New("connection refused")); !h.IsZero() {
		t.Fatal("an error without an answer gave a hint")
	}
	h := g.ObserveError(answerError{429, Hint{}}) // a 429 with no usable time
	if !h.IsZero() || !g.Snapshot().HeldUntil.IsZero() {
		t.Fatal("a 429 without a time held the endpoint")
	}
	clipped := ParseRetry(503, http.Header{"Retry-After": {"86400"}}, fk.Now(), MaxHold)
	g.ObserveError(answerError{503, clipped})
	s := g.Snapshot()
	if !s.HeldUntil.Equal(t0.Add(MaxHold)) || s.Stats.Clipped != 1 || s.Stats.TooMany != 1 || s.Stats.Unavailable != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	// A hint made without a cap is clipped by the gate too.
	g2, _ := newTestGate(t, DefaultLimit)
	g2.Observe(429, Hint{At: t0.Add(time.Hour), Asked: time.Hour, Field: RetryAfter})
	if s := g2.Snapshot(); !s.HeldUntil.Equal(t0.Add(MaxHold)) || s.Stats.Clipped != 1 {
		t.Fatalf("snapshot %+v", s)
	}
}

type answerError struct {
	status int
	hint   Hint
}

func (e answerError) Error() string       { return "answer" }
func (e answerError) Answer() (int, Hint) { return e.status, e.hint }
func (e answerError) wrap() error         { return fmt.Errorf("jwt-bearer grant: %w", e) }

// Do wraps one call: it waits, calls, and feeds the answer back.
func TestGateDo(t *testing.T) {
	g, _ := newTestGate(t, DefaultLimit)
	calls := 0
	err := g.Do(context.Background(), Caller, func(context.Context) error {
		calls++
		return answerError{429, hint7(t0)}.wrap()
	})
	if calls != 1 || err == nil {
		t.Fatalf("calls %d err %v", calls, err)
	}
	if !g.Snapshot().HeldUntil.Equal(t0.Add(7 * time.Second)) {
		t.Fatal("Do did not feed a wrapped answer to the gate")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = g.Do(ctx, Caller, func(context.Context) error { calls++; return nil })
	if !errors.Is(err, ErrHeld) || calls != 1 {
		t.Fatalf("Do during a hold: %v, %d calls", err, calls)
	}
}

func TestGateSetLimit(t *testing.T) {
	g, fk := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	launchUntil(g, Caller, t0.Add(90*time.Second), "a", 1, out)
	if err := g.SetLimit(Limit{Rate: -1}); err == nil {
		t.Fatal("a negative rate was accepted")
	}
	if err := g.SetLimit(Limit{Rate: 0.01, Burst: 1}); err != nil { // one per 100 s
		t.Fatal(err)
	}
	if o := <-out; !errors.Is(o.err, ErrLimited) {
		t.Fatalf("a waiter whose turn moved past its deadline: %v", o.err)
	}
	if err := g.SetLimit(Limit{Rate: 10, Burst: 1}); err != nil {
		t.Fatal(err)
	}
	launch(g, context.Background(), Caller, "b", 1, out)
	fk.Advance(time.Second)
	if o := next(t, out); o.id != "b" || o.err != nil {
		t.Fatalf("%s: %v", o.id, o.err)
	}
	if got := g.Snapshot().Limit; got != (Limit{Rate: 10, Burst: 1}) {
		t.Fatalf("limit %v", got)
	}
}

func TestNewRejectsABadLimit(t *testing.T) {
	_, err := New(Config{Name: "IdP token endpoint", Limit: Limit{Rate: 5000}})
	if err == nil || !strings.Contains(err.Error(), "IdP token endpoint") || !strings.Contains(err.Error(), "at most 1000") {
		t.Fatalf("err %v", err)
	}
	if _, err := New(Config{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	g, _ := newTestGate(t, DefaultLimit)
	if err := g.Wait(context.Background(), Priority(7)); err == nil {
		t.Fatal("an unknown priority was accepted")
	}
}

// A context's deadline is on the system clock; the gate judges it as the
// time left, on its own clock, whether that clock is years ahead of the
// system's or behind it.
func TestWaitJudgesAContextDeadlineAsTimeLeft(t *testing.T) {
	for _, start := range []time.Time{t0, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)} {
		fk := clock.NewFake(start)
		g, err := New(Config{Limit: Limit{Rate: 0.25, Burst: 1}, Clock: fk}) // one per 4 s
		if err != nil {
			t.Fatal(err)
		}
		exhaust(t, g)
		short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = g.Wait(short, Caller)
		var we *WaitError
		if !errors.As(err, &we) || !errors.Is(err, ErrLimited) {
			t.Fatalf("fake clock at %v: a 2 s timeout before a turn 4 s away: %v", start, err)
		}
		if we.Deadline.After(start.Add(2*time.Second)) || !we.Deadline.After(start) {
			t.Fatalf("deadline judged as %v, want within 2 s of the fake now %v", we.Deadline, start)
		}
		long, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		out := make(chan outcome, 1)
		launch(g, long, Caller, "hour", 1, out)
		fk.Advance(4 * time.Second)
		if o := <-out; o.err != nil {
			t.Fatalf("fake clock at %v: an hour's timeout: %v", start, o.err)
		}
		// The earlier of a context's and an explicit deadline applies.
		if err := g.WaitUntil(long, Caller, fk.Now().Add(time.Second)); !errors.Is(err, ErrLimited) {
			t.Fatalf("explicit deadline 1 s away, turn 4 s away: %v", err)
		}
	}
	if g, _ := New(Config{}); !strings.HasPrefix(g.Snapshot().Name, "upstream token endpoint") {
		t.Fatal("a gate without a name has no name in its errors")
	}
}

// Background work yields to every caller, so a caller's arrival can push a
// background request past its deadline: it is turned away then, not when
// the deadline passes.
func TestGateCallersPushBackgroundPastItsDeadline(t *testing.T) {
	g, _ := newTestGate(t, Limit{Rate: 1, Burst: 1})
	exhaust(t, g)
	out := make(chan outcome, 10)
	launchUntil(g, Background, t0.Add(3*time.Second), "refresh", 1, out) // turn +1s
	launch(g, context.Background(), Caller, "c1", 1, out)                // refresh now at +2s
	if g.Snapshot().Background != 1 {
		t.Fatal("refresh turned away while its turn (+2s) is before its deadline")
	}
	launch(g, context.Background(), Caller, "c2", 2, out) // refresh at +3s: too late
	o := <-out
	var we *WaitError
	if o.id != "refresh" || !errors.As(o.err, &we) || !errors.Is(o.err, ErrLimited) || !we.Until.Equal(t0.Add(3*time.Second)) || we.Priority != Background {
		t.Fatalf("%s: %v (%+v), want the refresh turned away until +3s", o.id, o.err, we)
	}
}
