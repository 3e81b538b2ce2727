package upstream

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many goroutines on the real clock: waits of both priorities, deadlines
// that cannot be met, cancellations racing the grant, holds, limit changes
// and snapshots all at once (run with -race). Every request is accounted
// for and the gate ends empty with no timer.
func TestGateConcurrentUse(t *testing.T) {
	g, err := New(Config{Name: "race", Limit: Limit{Rate: MaxRate, Burst: 20}})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 16, 25
	var passed, failed atomic.Uint64
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for range each {
				ctx, cancel := context.WithCancel(context.Background())
				switch rng.IntN(4) {
				case 0:
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(3))*time.Millisecond)
				case 1:
					go cancel()
				}
				if g.Wait(ctx, Priority(rng.IntN(2))) == nil {
					passed.Add(1)
				} else {
					failed.Add(1)
				}
				cancel()
				switch rng.IntN(40) {
				case 0:
					g.Observe(http.StatusTooManyRequests, Hint{At: time.Now().Add(2 * time.Millisecond), Asked: 2 * time.Millisecond, Field: RetryAfter})
				case 1:
					_ = g.SetLimit(Limit{Rate: float64(500 + rng.IntN(500)), Burst: 20})
				case 2:
					_ = g.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	s := g.Snapshot()
	if s.Stats.Passed != passed.Load() {
		t.Fatalf("gate let %d through, callers saw %d", s.Stats.Passed, passed.Load())
	}
	if got := s.Stats.Rejected + s.Stats.Cancelled; got > failed.Load() || passed.Load()+failed.Load() != goroutines*each {
		t.Fatalf("rejected+cancelled %d, failed %d, passed %d", got, failed.Load(), passed.Load())
	}
	if s.Callers+s.Background != 0 {
		t.Fatalf("%d callers and %d background still queued", s.Callers, s.Background)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		t.Fatal("a timer is armed with no one waiting")
	}
}
