package upstream

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 10,000 requests through one gate from five goroutines at once (three
// callers with a quota, two background workers without), the fake clock
// moved exactly to each of the gate's timers, and a server hold every 1,000
// requests. The rate holds in every window, background work gets nothing
// while a caller waits, and nothing goes during a hold.
func TestGateLongRun(t *testing.T) {
	l := Limit{Rate: 2, Burst: 3}
	g, fk := newTestGate(t, l)
	const total, callerQuota = 10_000, 2000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var active atomic.Int32
	var wg sync.WaitGroup
	worker := func(p Priority, quota int) {
		defer wg.Done()
		defer func() { // the settle condition below counts workers
			active.Add(-1)
			g.mu.Lock()
			g.changed.Broadcast()
			g.mu.Unlock()
		}()
		for i := 0; quota == 0 || i < quota; i++ {
			if g.Wait(ctx, p) != nil {
				return
			}
		}
	}
	start := func(p Priority, quota, n int) {
		for range n {
			active.Add(1)
			wg.Add(1)
			go worker(p, quota)
		}
		settle(g, &active)
	}
	start(Caller, callerQuota, 3) // callers first, so background never finds the bucket to itself
	start(Background, 0, 2)

	var callerTimes, bgTimes []time.Time
	var holds [][2]time.Time
	var prev, prevBG uint64
	for {
		settle(g, &active)
		g.mu.Lock()
		passed, bg, armed, at := g.stats.Passed, g.stats.Background, g.timer != nil, g.timerAt
		g.mu.Unlock()
		now := fk.Now()
		for range (passed - prev) - (bg - prevBG) {
			callerTimes = append(callerTimes, now)
		}
		for range bg - prevBG {
			bgTimes = append(bgTimes, now)
		}
		if passed/1000 != prev/1000 && passed < total {
			until := now.Add(5 * time.Second)
			g.Observe(http.StatusTooManyRequests, Hint{At: until, Asked: 5 * time.Second, Field: RetryAfter})
			holds = append(holds, [2]time.Time{now, until})
			g.mu.Lock()
			at = g.timerAt
			g.mu.Unlock()
			if at.Before(until) {
				t.Fatalf("after a hold until +%v the timer is set for +%v", until.Sub(t0), at.Sub(t0))
			}
		}
		prev, prevBG = passed, bg
		if passed >= total {
			break
		}
		if !armed {
			t.Fatal("requests wait and no timer is armed")
		}
		fk.Advance(at.Sub(now))
		await(g, func() bool { return g.stats.Passed > passed })
	}
	cancel()
	wg.Wait()

	all := slices.Concat(callerTimes, bgTimes)
	slices.SortFunc(all, time.Time.Compare)
	checkRate(t, all, l)
	if len(callerTimes) != 3*callerQuota {
		t.Fatalf("%d caller requests, want %d", len(callerTimes), 3*callerQuota)
	}
	if last, first := callerTimes[len(callerTimes)-1], bgTimes[0]; first.Before(last) {
		t.Fatalf("background went at +%v while callers waited until +%v", first.Sub(t0), last.Sub(t0))
	}
	for _, h := range holds {
		for _, x := range all {
			if x.After(h[0]) && x.Before(h[1]) {
				t.Fatalf("a request at +%v inside the hold +%v..+%v", x.Sub(t0), h[0].Sub(t0), h[1].Sub(t0))
			}
		}
	}
	if len(holds) != total/1000-1 {
		t.Fatalf("%d holds", len(holds))
	}
}

// settle waits until every running worker is queued at the gate.
func settle(g *Gate, active *atomic.Int32) {
	await(g, func() bool { return len(g.queues[Caller])+len(g.queues[Background]) == int(active.Load()) })
}
