package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
)

// day is what one key saw over a played day.
type day struct {
	fetches   int             // callers' own fetches (no valid token held)
	refreshes []time.Duration // background refreshes, as offsets from t0
	unused    int             // tokens obtained that no request was served from
}

// playDay drives q minute by minute for 24 h from t0 with 1-hour tokens:
// at each offset in uses a caller asks for k (and fetches when no valid
// token is held), and every refresh Due hands out succeeds at once.
func playDay(q *schedule.Queue, k schedule.Key, uses []time.Duration) day {
	var d day
	want := map[time.Duration]bool{}
	for _, u := range uses {
		want[u] = true
	}
	var expires time.Time
	served := true // the token held had a request served from it
	obtain := func(now time.Time, byCaller bool) {
		if !served {
			d.unused++
		}
		served = byCaller
		q.Succeeded(k, now, now, now.Add(time.Hour))
		expires = now.Add(time.Hour)
	}
	for m := time.Duration(0); m < 24*time.Hour; m += time.Minute {
		now := t0.Add(m)
		if want[m] {
			q.Used(k, now)
			if expires.Sub(now) < 10*time.Second {
				d.fetches++
				obtain(now, true)
			}
			served = true
		}
		keys, _ := q.Due(now, 0)
		for range keys {
			d.refreshes = append(d.refreshes, m)
			obtain(now, false)
		}
	}
	if !served {
		d.unused++
	}
	return d
}

func every(step, from, to time.Duration) []time.Duration {
	var out []time.Duration
	for at := from; at <= to; at += step {
		out = append(out, at)
	}
	return out
}

// The rule over a whole day, for each way a server is used and each idle
// setting: who is refreshed, how often, and how many tokens are obtained
// for nobody.
func TestRuleDay(t *testing.T) {
	workday := every(10*time.Minute, 0, 8*time.Hour) // 9:00 to 17:00
	for _, tt := range []struct {
		name   string
		policy schedule.Policy
		uses   []time.Duration
		// minRef and maxRef bound the background refreshes; lastRef is
		// the latest offset one may happen at; maxUnused bounds the tokens
		// obtained for nobody.
		minRef, maxRef int
		lastRef        time.Duration
		maxUnused      int
	}{
		{name: "used once", uses: []time.Duration{0}, lastRef: -1},
		{name: "used twice in one lifetime", uses: []time.Duration{0, 30 * time.Minute}, minRef: 1, maxRef: 1, lastRef: time.Hour, maxUnused: 1},
		// The session ended early in the token's life: nothing bought for nobody.
		{name: "used twice, early in one lifetime", uses: []time.Duration{0, 10 * time.Minute}, lastRef: -1},
		{name: "used in the next lifetime only after expiry", uses: []time.Duration{0, 3 * time.Hour}, lastRef: -1},
		{name: "workday", uses: workday, minRef: 11, maxRef: 14, lastRef: 8*time.Hour + 45*time.Minute, maxUnused: 1},
		{name: "keep warm, never used", policy: schedule.Policy{KeepWarm: true}, minRef: 34, maxRef: 40, lastRef: 24 * time.Hour, maxUnused: 40},
		{name: "idle_after 2h, used once", policy: schedule.Policy{IdleAfter: 2 * time.Hour}, uses: []time.Duration{0}, minRef: 2, maxRef: 3, lastRef: 2 * time.Hour, maxUnused: 3},
		{name: "idle_after 20m, used once", policy: schedule.Policy{IdleAfter: 20 * time.Minute}, uses: []time.Duration{0}, lastRef: -1},
		{name: "idle_after 30m, workday", policy: schedule.Policy{IdleAfter: 30 * time.Minute}, uses: workday, minRef: 11, maxRef: 14, lastRef: 8*time.Hour + 30*time.Minute, maxUnused: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(schedule.Config{})
			k := schedule.Key{Server: "https://s.example/mcp"}
			q.SetServer(k.Server, tt.policy)
			q.Warm(t0) // a sign-in: only keep-warm servers get an entry
			d := playDay(q, k, tt.uses)
			t.Logf("%d uses: %d fetches, %d background refreshes, %d tokens for nobody", len(tt.uses), d.fetches, len(d.refreshes), d.unused)
			if n := len(d.refreshes); n < tt.minRef || n > tt.maxRef {
				t.Errorf("%d background refreshes at %v, want %d to %d", n, d.refreshes, tt.minRef, tt.maxRef)
			}
			for _, r := range d.refreshes {
				if r > tt.lastRef {
					t.Errorf("refreshed at +%s, after +%s", r, tt.lastRef)
				}
			}
			if d.unused > tt.maxUnused {
				t.Errorf("%d tokens obtained for nobody, want at most %d", d.unused, tt.maxUnused)
			}
			if len(tt.uses) > 0 && d.fetches < 1 {
				t.Errorf("no caller fetched: %+v", d)
			}
		})
	}
}

// Under the idle_after rule every background refresh follows a request
// within idle_after; the queue's default applies when the server has
// none, and the server's own wins.
func TestRuleIdleAfterDefaultAndOverride(t *testing.T) {
	q := newQueue(schedule.Config{IdleAfter: 2 * time.Hour})
	kShort := schedule.Key{Server: "https://short.example/mcp"}
	q.SetServer(kShort.Server, schedule.Policy{IdleAfter: 10 * time.Minute})
	if d := playDay(q, kA, []time.Duration{0}); len(d.refreshes) < 2 {
		t.Errorf("the queue's 2 h rule refreshed %v", d.refreshes)
	}
	if d := playDay(q, kShort, []time.Duration{0}); len(d.refreshes) != 0 {
		t.Errorf("the server's 10 min rule refreshed %v", d.refreshes)
	}
}

// An idle token shows as idle with nothing planned, from the moment it is
// obtained until a request; a used one shows its refresh.
func TestRuleEntryTellsTheTruth(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.Used(kA, t0)
	next := q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	if e := entry(t, q, kA); !e.Idle || !e.Next.IsZero() {
		t.Fatalf("a token used only by its own fetch shows %+v", e)
	}
	if n := q.Next(); !n.Equal(next) {
		t.Fatalf("the queue's wake-up is %s, want %s (it parks the entry then)", n, next)
	}
	q.Used(kA, t0.Add(5*time.Minute))
	if e := entry(t, q, kA); !e.Idle || !e.Next.IsZero() {
		t.Fatalf("a token used only early in its life shows %+v", e)
	}
	q.Used(kA, t0.Add(30*time.Minute))
	if e := entry(t, q, kA); e.Idle || !e.Next.Equal(next) {
		t.Fatalf("a used token shows %+v, want its refresh at %s", e, next)
	}
}

// A parked token whose lifetime ended is not refreshed in the background
// when a request comes: the caller's own fetch gets it, and plans it
// afresh. One still valid is refreshed at once.
func TestRuleRequestAfterIdle(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.Used(kA, t0)
	q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	wantDue(t, q, t0.Add(45*time.Minute))
	if e := entry(t, q, kA); !e.Idle {
		t.Fatalf("not parked: %+v", e)
	}
	q.Used(kA, t0.Add(50*time.Minute)) // still valid for 10 min
	wantDue(t, q, t0.Add(50*time.Minute), kA)
	q.Succeeded(kA, t0.Add(50*time.Minute), t0.Add(50*time.Minute), t0.Add(110*time.Minute))

	wantDue(t, q, t0.Add(3*time.Hour)) // nobody asked: parked
	later := t0.Add(3 * time.Hour)
	q.Used(kA, later) // expired: the caller fetches
	wantDue(t, q, later)
	q.Succeeded(kA, later, later, later.Add(time.Hour))
	if e := entry(t, q, kA); !e.Idle || e.Attempt != 0 {
		t.Fatalf("after the caller's fetch: %+v", e)
	}
}

// A failing refresh is retried while the token it would replace is valid
// and was used; once that token expired, or when no token was ever
// obtained, nothing is retried for nobody. Keep-warm retries on.
func TestRuleFailuresOfUnusedTokens(t *testing.T) {
	boom := errors.New("503")
	fail := func(q *schedule.Queue, k schedule.Key, now time.Time, expires time.Time) {
		q.Failed(k, now, schedule.Failure{Err: boom, Remaining: expires.Sub(now)})
	}
	// retries drives failures of k from from to to and counts them.
	retries := func(q *schedule.Queue, k schedule.Key, from, to, expires time.Time) (n int, last time.Time) {
		for now := from; now.Before(to); now = now.Add(time.Second) {
			keys, _ := q.Due(now, 0)
			for range keys {
				n++
				last = now
				fail(q, k, now, expires)
			}
		}
		return n, last
	}

	q := newQueue(schedule.Config{})
	exp := t0.Add(time.Hour)
	q.Used(kA, t0)
	q.Succeeded(kA, t0, t0, exp)
	q.Used(kA, t0.Add(45*time.Minute))
	n, last := retries(q, kA, t0.Add(30*time.Minute), t0.Add(3*time.Hour), exp)
	if n < 5 || !last.Before(exp) {
		t.Fatalf("a used token's refresh was retried %d times, the last at +%s (expiry +1h)", n, last.Sub(t0))
	}
	if e := entry(t, q, kA); !e.Idle || e.Err == nil || !e.Next.IsZero() {
		t.Fatalf("after its expiry the failing token shows %+v", e)
	}

	// A caller's first fetch failed: no token, nobody to retry for.
	q.Used(kB, t0)
	fail(q, kB, t0, time.Time{})
	if n, _ := retries(q, kB, t0, t0.Add(3*time.Hour), time.Time{}); n != 0 {
		t.Fatalf("a failed first fetch was retried %d times in the background", n)
	}

	// Keep-warm is retried whatever happens.
	kW := schedule.Key{Server: "https://warm.example/mcp"}
	q.SetServer(kW.Server, schedule.Policy{KeepWarm: true})
	fail(q, kW, t0, time.Time{})
	if n, _ := retries(q, kW, t0, t0.Add(time.Hour), time.Time{}); n < 20 {
		t.Fatalf("a keep-warm server was retried %d times in an hour", n)
	}
}

// After a restart a stored token counts as used only from the time the
// store says; after a suspend past its expiry an unused token is not
// refreshed, a keep-warm one is.
func TestRuleRestartAndResync(t *testing.T) {
	q := newQueue(schedule.Config{})
	kW := schedule.Key{Server: "https://warm.example/mcp"}
	q.SetServer(kW.Server, schedule.Policy{KeepWarm: true})
	issued := t0.Add(-30 * time.Minute)
	q.Adopt(kA, issued, issued.Add(time.Hour), issued.Add(35*time.Minute)) // used lately
	q.Adopt(kB, issued, issued.Add(time.Hour), issued)                     // not known to be used
	q.Adopt(kW, issued, issued.Add(time.Hour), issued)
	keys, _ := q.Due(t0.Add(15*time.Minute), 0)
	if len(keys) != 2 || keys[0] == kB || keys[1] == kB {
		t.Fatalf("due after the restart: %v, want a and the keep-warm one", keys)
	}
	for _, k := range keys {
		q.Done(k, t0.Add(15*time.Minute))
	}
	resume := t0.Add(5 * time.Hour)
	q.Resync(resume)
	keys, _ = q.Due(resume.Add(30*time.Second), 0)
	if len(keys) != 1 || keys[0] != kW {
		t.Fatalf("due after a 5 h suspend: %v, want only the keep-warm one", keys)
	}
}

// Used on an entry that exists allocates nothing: the fleet simulator and
// the cache-hit path call it for every request.
func TestUsedAllocatesNothing(t *testing.T) {
	q := newQueue(schedule.Config{})
	q.Used(kA, t0)
	q.Succeeded(kA, t0, t0, t0.Add(time.Hour))
	now := t0
	if n := testing.AllocsPerRun(1000, func() { now = now.Add(time.Millisecond); q.Used(kA, now) }); n != 0 {
		t.Fatalf("Used allocates %.1f times per call", n)
	}
}

// TestWantedIsDuesRule: the exported rule says what Due does. For each
// case a 1-hour token obtained at t0 is used at an offset and Due is
// asked past the refresh point: the key is handed out exactly when
// Wanted says so.
func TestWantedIsDuesRule(t *testing.T) {
	k := schedule.Key{Server: "https://mcp.example/mcp"}
	cases := []struct {
		name    string
		policy  schedule.Policy
		used    time.Duration // since t0; -1s: only the fetch's own request
		at      time.Duration
		handOut bool
	}{
		{"used lately", schedule.Policy{}, 40 * time.Minute, 50 * time.Minute, true},
		{"used at the window's edge", schedule.Policy{}, 35 * time.Minute, 50 * time.Minute, true},
		{"used before the window", schedule.Policy{}, 34 * time.Minute, 50 * time.Minute, false},
		{"only the fetch's own request", schedule.Policy{}, -time.Second, 50 * time.Minute, false},
		{"expired", schedule.Policy{}, 59 * time.Minute, 61 * time.Minute, false},
		{"keep warm, never used", schedule.Policy{KeepWarm: true}, -time.Second, 50 * time.Minute, true},
		{"idle_after kept", schedule.Policy{IdleAfter: 5 * time.Minute}, 45 * time.Minute, 50 * time.Minute, true},
		{"idle_after passed", schedule.Policy{IdleAfter: 5 * time.Minute}, 44 * time.Minute, 50 * time.Minute, false},
		{"idle_after outlives the token", schedule.Policy{IdleAfter: 3 * time.Hour}, -time.Second, 2 * time.Hour, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := schedule.New(schedule.Config{Rand: func() float64 { return 0.5 }})
			q.SetServer(k.Server, c.policy)
			issued, expires := t0, t0.Add(time.Hour)
			used, at := t0.Add(c.used), t0.Add(c.at)
			q.Used(k, issued.Add(-time.Second)) // the caller's fetch
			q.Succeeded(k, issued, issued, expires)
			if c.used >= 0 {
				q.Used(k, used)
			}
			if got := schedule.Wanted(c.policy, 0, used, issued, expires, at); got != c.handOut {
				t.Errorf("Wanted = %v, want %v", got, c.handOut)
			}
			keys, _ := q.Due(at, 0)
			if handed := len(keys) == 1; handed != c.handOut {
				t.Errorf("Due handed out %v, Wanted says %v", keys, c.handOut)
			}
		})
	}
}
