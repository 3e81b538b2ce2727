package schedule_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// seeded returns a reproducible jitter source safe for concurrent use.
func seeded(seed uint64) func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed))
	return func() float64 { mu.Lock(); defer mu.Unlock(); return r.Float64() }
}

func newQueue(cfg schedule.Config) *schedule.Queue {
	if cfg.Rand == nil {
		cfg.Rand = seeded(1)
	}
	return schedule.New(cfg)
}

// inUse sets an idle rule under which every key counts as in use for a
// week after its last request, so a test of the plan's timing (refresh
// points, backoff, resync, limits) sees the timing alone; the rule itself
// has its own tests (rule_test.go).
func inUse(cfg schedule.Config) schedule.Config {
	cfg.IdleAfter = 7 * 24 * time.Hour
	return cfg
}

func entry(t *testing.T, q *schedule.Queue, k schedule.Key) schedule.Entry {
	t.Helper()
	e, ok := q.Entry(k)
	if !ok {
		t.Fatalf("no entry for %v", k)
	}
	return e
}

func wantDue(t *testing.T, q *schedule.Queue, now time.Time, want ...schedule.Key) {
	t.Helper()
	got, _ := q.Due(now, 0)
	if !slices.Equal(got, want) {
		t.Fatalf("due at +%s: %v, want %v", now.Sub(t0), got, want)
	}
}

var (
	kA = schedule.Key{Server: "https://a.example/mcp"}
	kB = schedule.Key{Server: "https://b.example/mcp", Scopes: "read"}
)

// A token obtained by a caller is refreshed once, inside its window, and
// not handed out again while in flight.
func TestQueuePlansAfterSuccess(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.Used(kA, t0)
	if e := entry(t, q, kA); !e.Next.IsZero() {
		t.Fatalf("a key nobody obtained yet is planned at %s", e.Next)
	}
	wantDue(t, q, t0.Add(time.Hour))
	next := q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	q.Used(kA, t0.Add(30*time.Minute)) // used in its middle third, so refreshed
	if remain := t0.Add(time.Hour).Sub(next); remain < 18*time.Minute || remain > 22*time.Minute {
		t.Fatalf("planned %s before expiry, want 20 min +-10%%", remain)
	}
	if _, wake := q.Due(t0, 0); !wake.Equal(next) || !q.Next().Equal(next) {
		t.Fatalf("next wake %s (Next %s), want %s", wake, q.Next(), next)
	}
	wantDue(t, q, next.Add(-time.Nanosecond))
	wantDue(t, q, next, kA)
	if e := entry(t, q, kA); !e.InFlight {
		t.Fatal("a handed-out key is not in flight")
	}
	wantDue(t, q, next.Add(time.Hour)) // in flight: never twice
	q.Succeeded(kA, next, next, next.Add(time.Hour))
	q.Done(kA, next)
	q.Used(kA, next.Add(30*time.Minute))
	if e := entry(t, q, kA); e.InFlight || !e.Next.After(next.Add(30*time.Minute)) {
		t.Fatalf("after the refresh: in flight %v, next at +%s", e.InFlight, e.Next.Sub(next))
	}
}

// Whatever lifetime a server claims, a token is not refreshed twice within
// 10 s.
func TestQueueRefreshFloor(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	next := q.Succeeded(kA, t0, t0, t0.Add(2*time.Second))
	if next.Before(t0.Add(10 * time.Second)) {
		t.Fatalf("a 2 s token is refreshed after %s", next.Sub(t0))
	}
}

// Transient failures back off within the ceiling; a permanent one is never
// handed out until Retry, which also forgets the count.
func TestQueueFailures(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	boom := errors.New("503")
	now := t0
	for attempt := 1; attempt <= 6; attempt++ {
		q.Failed(kA, now, schedule.Failure{Err: boom})
		e := entry(t, q, kA)
		if e.Attempt != attempt || e.Err != boom || e.Permanent {
			t.Fatalf("attempt %d: entry %+v", attempt, e)
		}
		// Nothing valid is held, and the failures all came within
		// seconds: the backoff's ceiling bounds the catch-up's.
		if d := e.Next.Sub(now); d < 100*time.Millisecond || d > max(schedule.BackoffCeiling(attempt, 0), 8*now.Sub(t0)) {
			t.Fatalf("attempt %d: retry after %s", attempt, d)
		}
		now = e.Next
		wantDue(t, q, now, kA)
		q.Done(kA, now) // no outcome recorded yet: the next Failed does it
	}
	q.Failed(kA, now, schedule.Failure{Err: boom, Permanent: true})
	if _, wake := q.Due(now.Add(48*time.Hour), 0); !wake.IsZero() {
		t.Fatalf("a permanent failure is still planned at %s", wake)
	}
	q.Retry(now)
	if e := entry(t, q, kA); e.Attempt != 0 || e.Err != nil || e.Permanent || !e.Next.Equal(now) {
		t.Fatalf("after Retry: %+v", e)
	}
	wantDue(t, q, now, kA)
}

// A failure that carries the end of a server's pause is not retried
// before it, however short the backoff; a pause that ends before the
// backoff changes nothing.
func TestQueueFailureNotBefore(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	boom := errors.New("429")
	pause := t0.Add(7 * time.Second)
	q.Failed(kA, t0, schedule.Failure{Err: boom, Remaining: time.Hour, NotBefore: pause})
	if e := entry(t, q, kA); !e.Next.Equal(pause) {
		t.Fatalf("next attempt at +%s, want +7s, the end of the pause", e.Next.Sub(t0))
	}
	wantDue(t, q, pause.Add(-time.Nanosecond))
	wantDue(t, q, pause, kA)
	q.Done(kA, pause)
	q.Failed(kA, pause, schedule.Failure{Err: boom, Remaining: time.Hour, NotBefore: pause.Add(-time.Second)})
	if e := entry(t, q, kA); !e.Next.After(pause) || e.Next.Sub(pause) > schedule.BackoffCeiling(2, time.Hour) {
		t.Fatalf("a pause already over moved the backoff: next at +%s", e.Next.Sub(pause))
	}
}

// A due token nobody asked for within the idle rule is left alone until
// the next request; keep-warm servers and per-server rules override it.
func TestQueueIdleRule(t *testing.T) {
	q := newQueue(schedule.Config{IdleAfter: 2 * time.Hour})
	q.SetServer(kB.Server, schedule.Policy{IdleAfter: 30 * time.Minute})
	q.Used(kA, t0)
	q.Used(kB, t0)
	a := q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	q.Succeeded(kB, t0, t0, t0.Add(time.Hour))
	// Both come due about 40 min in; only a is within its idle rule.
	wantDue(t, q, a.Add(5*time.Minute), kA)
	if e := entry(t, q, kB); !e.Idle || e.InFlight {
		t.Fatalf("b is not idle: %+v", e)
	}
	wantDue(t, q, t0.Add(5*time.Hour))
	q.Used(kB, t0.Add(5*time.Hour))
	wantDue(t, q, t0.Add(5*time.Hour), kB)

	// A server turned keep-warm is never idle.
	q.Done(kB, t0.Add(5*time.Hour))
	q.Succeeded(kB, t0.Add(5*time.Hour), t0.Add(5*time.Hour), t0.Add(6*time.Hour))
	wantDue(t, q, t0.Add(10*time.Hour))
	q.SetServer(kB.Server, schedule.Policy{KeepWarm: true})
	wantDue(t, q, t0.Add(10*time.Hour), kB)
}

// Warm plans keep-warm servers at once; Clear takes every plan away (a
// logout) until Warm again (a sign-in).
func TestQueueWarmAndClear(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.SetServer(kA.Server, schedule.Policy{KeepWarm: true})
	q.SetServer(kB.Server, schedule.Policy{})
	q.Warm(t0)
	wantDue(t, q, t0, kA)
	q.Used(kB, t0)
	q.Succeeded(kB, t0, t0, t0.Add(time.Hour))
	q.Clear()
	q.Done(kA, t0) // the refresh in flight at the logout ends without effect
	if n := q.Len(); n != 0 {
		t.Fatalf("%d entries after Clear", n)
	}
	if _, wake := q.Due(t0.Add(24*time.Hour), 0); !wake.IsZero() {
		t.Fatalf("something is planned after Clear: %s", wake)
	}
	q.Warm(t0.Add(time.Hour))
	wantDue(t, q, t0.Add(time.Hour), kA)
}

// Removing a key or a server forgets it, in flight or not.
func TestQueueRemove(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	k2 := schedule.Key{Server: kB.Server, Scopes: "write"}
	for _, k := range []schedule.Key{kA, kB, k2} {
		q.Succeeded(k, t0, t0, t0.Add(time.Hour))
	}
	keys, _ := q.Due(t0.Add(time.Hour), 0)
	q.Remove(kA)
	q.RemoveServer(kB.Server)
	for _, k := range keys {
		q.Done(k, t0.Add(time.Hour))
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d entries left", n)
	}
	wantDue(t, q, t0.Add(time.Hour))
}

// A refresh that records no outcome is tried again a second later, not in
// a hot loop.
func TestQueueDoneWithoutOutcome(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	q.Failed(kA, t0, schedule.Failure{Err: errors.New("x")})
	at := entry(t, q, kA).Next
	wantDue(t, q, at, kA)
	q.Done(kA, at)
	wantDue(t, q, at)
	wantDue(t, q, at.Add(time.Second), kA)
}

// Resync forgets backoff, spreads what is due over 30 s, keeps plans in
// the future, and leaves permanent failures and never-obtained keys alone.
func TestQueueResync(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	kC := schedule.Key{Server: "https://c.example/mcp"}
	kD := schedule.Key{Server: "https://d.example/mcp"}
	q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	for range 5 {
		q.Failed(kB, t0, schedule.Failure{Err: errors.New("503")})
	}
	q.Failed(kC, t0, schedule.Failure{Err: errors.New("invalid_client"), Permanent: true})
	q.Used(kD, t0)

	// Ten minutes in, nothing obtained at t0 is past its refresh point.
	now := t0.Add(10 * time.Minute)
	q.Resync(now)
	if e := entry(t, q, kA); e.Next.Before(t0.Add(36*time.Minute)) || e.Next.After(t0.Add(42*time.Minute)) {
		t.Errorf("a's plan moved to +%s", e.Next.Sub(t0))
	}
	if e := entry(t, q, kB); e.Attempt != 0 || e.Next.Before(now) || e.Next.After(now.Add(30*time.Second)) {
		t.Errorf("b after resync: attempt %d, due at +%s", e.Attempt, e.Next.Sub(now))
	}
	if e := entry(t, q, kC); !e.Permanent {
		t.Error("resync retried a permanent failure")
	}
	if e := entry(t, q, kD); !e.Next.IsZero() {
		t.Errorf("resync planned a key never obtained, at %s", e.Next)
	}

	// After a 3 h suspend every token is past its point: all due within 30 s.
	now = t0.Add(3 * time.Hour)
	q.Resync(now)
	keys, _ := q.Due(now.Add(30*time.Second), 0)
	if !slices.Contains(keys, kA) || !slices.Contains(keys, kB) || len(keys) != 2 {
		t.Errorf("due within 30 s of the resume: %v", keys)
	}
}

// Due hands out at most limit keys, earliest first, and says more are due.
func TestQueueDueLimit(t *testing.T) {
	q := newQueue(inUse(schedule.Config{}))
	var all []schedule.Key
	for i := range 20 {
		k := schedule.Key{Server: fmt.Sprintf("https://s%02d.example/mcp", i)}
		all = append(all, k)
		q.Succeeded(k, t0, t0.Add(time.Duration(i)*time.Second), t0.Add(time.Duration(i)*time.Second+time.Hour))
	}
	end := t0.Add(2 * time.Hour)
	keys, wake := q.Due(end, 8)
	if len(keys) != 8 || wake.After(end) {
		t.Fatalf("%d keys, wake at %s: want 8 and more due now", len(keys), wake)
	}
	rest, wake := q.Due(end, 0)
	if len(rest) != 12 || !wake.IsZero() {
		t.Fatalf("%d more, wake %s", len(rest), wake)
	}
	got := append(keys, rest...)
	slices.SortFunc(got, func(a, b schedule.Key) int { return compareKeys(a, b) })
	if !slices.Equal(got, all) {
		t.Fatalf("handed out %v", got)
	}
}

func compareKeys(a, b schedule.Key) int {
	if a.Server != b.Server {
		if a.Server < b.Server {
			return -1
		}
		return 1
	}
	if a.Scopes < b.Scopes {
		return -1
	}
	if a.Scopes > b.Scopes {
		return 1
	}
	return 0
}

// Adopt plans a stored token at its refresh point even if that passed,
// if it was used in its lifetime; one not known to be used waits for a
// request.
func TestQueueAdopt(t *testing.T) {
	q := newQueue(schedule.Config{})
	issued := t0.Add(-50 * time.Minute)
	q.Adopt(kA, issued, issued.Add(time.Hour), issued.Add(40*time.Minute))
	q.Adopt(kB, issued, issued.Add(time.Hour), issued)
	if e := entry(t, q, kB); !e.Idle || !e.Next.IsZero() || !e.Issued.Equal(issued) {
		t.Fatalf("a stored token nobody used shows %+v", e)
	}
	wantDue(t, q, t0, kA)
	q.Used(kB, t0)
	wantDue(t, q, t0, kB)
}

// The heap hands out exactly what a full scan of the entries says is
// due, through a long random mix of every operation.
func TestQueueMatchesScan(t *testing.T) {
	for _, idle := range []time.Duration{0, 3 * time.Hour} {
		t.Run(fmt.Sprint("idle_after=", idle), func(t *testing.T) { matchScan(t, idle) })
	}
}

func matchScan(t *testing.T, idle time.Duration) {
	r := rand.New(rand.NewPCG(3, 3))
	q := newQueue(schedule.Config{IdleAfter: idle})
	var keys []schedule.Key
	for i := range 12 {
		keys = append(keys, schedule.Key{Server: fmt.Sprintf("https://s%d.example/mcp", i%5), Scopes: fmt.Sprint(i / 5)})
	}
	q.SetServer(keys[0].Server, schedule.Policy{KeepWarm: true})
	now := t0
	inflight := map[schedule.Key]bool{}
	for step := range 20000 {
		now = now.Add(time.Duration(r.IntN(120)) * time.Second)
		k := keys[r.IntN(len(keys))]
		switch r.IntN(12) {
		case 0, 1:
			q.Used(k, now)
		case 2, 3:
			q.Succeeded(k, now, now, now.Add(time.Duration(1+r.IntN(120))*time.Minute))
		case 4:
			q.Failed(k, now, schedule.Failure{Err: errors.New("x"), Permanent: r.IntN(4) == 0, Remaining: time.Duration(r.IntN(60)) * time.Minute})
		case 5:
			q.Remove(k)
			delete(inflight, k)
		case 6:
			if r.IntN(20) == 0 {
				q.Resync(now)
			}
		case 7:
			if r.IntN(40) == 0 {
				q.Retry(now)
			}
		case 8:
			if r.IntN(100) == 0 {
				q.Clear()
				clear(inflight)
			}
		default:
			scan := dueByScan(q, keys, now, idle, keys[0].Server)
			got, _ := q.Due(now, 0)
			slices.SortFunc(got, compareKeys)
			if !slices.Equal(got, scan) {
				t.Fatalf("step %d: heap says %v, scan says %v", step, got, scan)
			}
			for _, g := range got {
				inflight[g] = true
			}
		}
		for k := range inflight {
			if r.IntN(3) == 0 {
				q.Done(k, now)
				delete(inflight, k)
			}
		}
	}
}

// dueByScan is what Due must return, computed from snapshots alone.
func dueByScan(q *schedule.Queue, keys []schedule.Key, now time.Time, idle time.Duration, warm string) []schedule.Key {
	var out []schedule.Key
	for _, k := range keys {
		e, ok := q.Entry(k)
		if !ok || e.Next.IsZero() || e.Next.After(now) || e.InFlight || e.Permanent || e.Idle {
			continue
		}
		if k.Server != warm && idle > 0 && now.Sub(e.LastUsed) > idle {
			continue
		}
		if k.Server != warm && idle == 0 && (!e.LastUsed.After(e.Issued) || !now.Before(e.Expires) || now.Sub(e.LastUsed) > e.Expires.Sub(e.Issued)/4) {
			continue
		}
		out = append(out, k)
	}
	slices.SortFunc(out, compareKeys)
	return out
}

// TestQueueCatchUp: a refresh failing for a while is retried on the
// catch-up spread, measured from its first failure; a success forgets it.
func TestQueueCatchUp(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	now := t0.Add(40 * time.Minute)
	q.Used(kA, t0.Add(45*time.Minute)) // in use: refreshed in the background
	for range 3 {
		q.Failed(kA, now, schedule.Failure{Err: errors.New("503"), Remaining: t0.Add(time.Hour).Sub(now)})
		now = entry(t, q, kA).Next
	}
	// The fourth failure, 20 minutes of validity left: once more before
	// expiry, in [expiry-3m, expiry-1m].
	q.Failed(kA, now, schedule.Failure{Err: errors.New("503"), Remaining: t0.Add(time.Hour).Sub(now)})
	next := entry(t, q, kA).Next
	if next.Before(t0.Add(57*time.Minute)) || next.After(t0.Add(59*time.Minute)) {
		t.Fatalf("retry of a valid token planned at +%s", next.Sub(t0))
	}
	// A success forgets the failures: the next failure starts quick again.
	now = t0.Add(58 * time.Minute)
	q.Succeeded(kA, now, now, now.Add(time.Hour))
	q.Used(kA, now.Add(30*time.Minute))
	q.Failed(kA, now.Add(40*time.Minute), schedule.Failure{Err: errors.New("503"), Remaining: 20 * time.Minute})
	if d := entry(t, q, kA).Next.Sub(now.Add(40 * time.Minute)); d > time.Second {
		t.Fatalf("first failure after a success retried after %s, want the 1 s backoff", d)
	}
}
