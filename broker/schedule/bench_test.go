package schedule_test

import (
	"container/heap"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
)

// BenchmarkScheduleHour1000 measures the queue's own work for 1,000
// keep-warm servers over one simulated hour, driven as Run drives it: a
// turn at each wake-up (at most 30 s apart), every due refresh succeeding
// at once (network and crypto are the upstream calls' cost, not the
// queue's). ns/op is CPU time per simulated hour; pct-core is that as a
// share of one core over the hour; heap-MiB is the heap in use with the
// queue loaded.
func BenchmarkScheduleHour1000(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	q := schedule.New(schedule.Config{Rand: r.Float64})
	now := t0
	for i := range 1000 {
		url := fmt.Sprintf("https://mcp%d.example/mcp", i)
		q.SetServer(url, schedule.Policy{KeepWarm: true})
		issued := now.Add(-time.Duration(r.Float64() * float64(40*time.Minute)))
		q.Adopt(schedule.Key{Server: url}, issued, issued.Add(time.Hour), now)
	}
	heapMiB := heapInUse()
	refreshes := 0
	b.ResetTimer()
	for b.Loop() {
		end := now.Add(time.Hour)
		for now.Before(end) {
			n, next := turn(q, now)
			refreshes += n
			now = wake(now, next)
		}
	}
	perHour := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*perHour/float64(time.Hour.Nanoseconds()), "pct-core")
	b.ReportMetric(heapMiB, "heap-MiB")
	b.ReportMetric(float64(refreshes)/float64(b.N), "refreshes/hour")
}

var fleetDaemons = flag.Int("fleet-daemons", 100_000, "daemons of BenchmarkFleetDay")

// BenchmarkFleetDay drives one queue per daemon, 5 keep-warm servers each
// with 1-hour tokens, through one simulated day under one virtual clock:
// a discrete-event loop with a heap of the daemons' next wake-ups and no
// goroutine or timer per daemon or entry, the way a fleet simulator uses
// the queue. Run it with -benchtime 1x; s/day is the wall time of one
// simulated day.
func BenchmarkFleetDay(b *testing.B) {
	for b.Loop() {
		r := rand.New(rand.NewPCG(2, 2))
		queues := make([]*schedule.Queue, *fleetDaemons)
		var wakes wakeHeap
		for d := range queues {
			q := schedule.New(schedule.Config{Rand: r.Float64})
			for s := range 5 {
				url := fmt.Sprintf("https://mcp%d.example/mcp", s)
				q.SetServer(url, schedule.Policy{KeepWarm: true})
				issued := t0.Add(-time.Duration(r.Float64() * float64(40*time.Minute)))
				q.Adopt(schedule.Key{Server: url}, issued, issued.Add(time.Hour), t0)
			}
			queues[d] = q
			wakes = append(wakes, wakeAt{t0, d})
		}
		heap.Init(&wakes)
		b.ReportMetric(heapInUse(), "heap-MiB")
		end := t0.Add(24 * time.Hour)
		refreshes := 0
		for wakes[0].at.Before(end) {
			w := &wakes[0]
			n, next := turn(queues[w.daemon], w.at)
			refreshes += n
			if next.IsZero() {
				heap.Pop(&wakes)
				continue
			}
			w.at = next
			heap.Fix(&wakes, 0)
		}
		b.ReportMetric(float64(refreshes), "refreshes/day")
		b.ReportMetric(b.Elapsed().Seconds(), "s/day")
	}
}

// BenchmarkUsed is a request's cost to the queue (the cache-hit path and
// every simulated request of a fleet): one existing entry, in use.
func BenchmarkUsed(b *testing.B) {
	q := schedule.New(schedule.Config{})
	k := schedule.Key{Server: "https://mcp.example/mcp"}
	q.Used(k, t0)
	q.Succeeded(k, t0, t0, t0.Add(time.Hour))
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		q.Used(k, now)
	}
}

// turn is one turn of the loop at now: every due refresh succeeds at once.
func turn(q *schedule.Queue, now time.Time) (int, time.Time) {
	keys, next := q.Due(now, 0)
	for _, k := range keys {
		q.Succeeded(k, now, now, now.Add(time.Hour)) // so no Done is needed
	}
	if len(keys) > 0 {
		next = q.Next() // the plans just made
	}
	return len(keys), next
}

// wake is when Run would turn next after now.
func wake(now, next time.Time) time.Time {
	if next.IsZero() || next.Sub(now) > 30*time.Second {
		return now.Add(30 * time.Second)
	}
	return now.Add(max(next.Sub(now), 100*time.Millisecond))
}

func heapInUse() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

type wakeAt struct {
	at     time.Time
	daemon int
}

type wakeHeap []wakeAt

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h wakeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)        { *h = append(*h, x.(wakeAt)) }
func (h *wakeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
