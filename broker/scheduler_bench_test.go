package broker

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
)

// BenchmarkScheduleHour1000 measures the scheduler's own work for 1,000
// servers over one simulated hour: a wake-up every 30 s plus one per
// refresh, each scanning every server, with refreshes that succeed at once
// (network and crypto are not the scheduler's cost and are left out).
// ns/op is CPU-bound time per simulated hour; pct-core is that as a share
// of one core over the hour; heap-MiB is the heap in use with 1,000 servers
// and tokens held.
func BenchmarkScheduleHour1000(b *testing.B) {
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := start
	br, err := New(Config{
		IdP:           IdPConfig{Issuer: "https://idp.example", Auth: grant.ClientAuth{Method: grant.None, ClientID: "c"}},
		AllowUnlisted: true,
		Now:           func() time.Time { return now },
	})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 1000 {
		url := fmt.Sprintf("https://mcp%d.example/mcp", i)
		srv := &server{url: url, keepWarm: true, origin: OriginUser, tokens: map[string]*Token{}}
		issued := now.Add(-time.Duration(r.Float64() * float64(40*time.Minute)))
		srv.tokens[""] = &Token{AccessToken: fmt.Sprintf("tok-%d-%040d", i, 0), Type: "Bearer", RefreshedAt: issued, ExpiresAt: issued.Add(time.Hour), ServerURL: url}
		br.servers[url] = srv
		br.mu.Lock()
		br.schedEntryLocked(srv, "", nil)
		br.mu.Unlock()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap := float64(ms.HeapInuse) / (1 << 20)

	refreshes := 0
	b.ResetTimer()
	for b.Loop() {
		end := now.Add(time.Hour)
		for now.Before(end) {
			jobs, next := br.due(now)
			for _, j := range jobs {
				br.mu.Lock()
				t := &Token{AccessToken: "x", Type: "Bearer", RefreshedAt: now, ExpiresAt: now.Add(time.Hour), ServerURL: j.srv.url}
				j.srv.tokens[j.key] = t
				br.afterRefreshLocked(j.srv, j.key, nil, t, nil)
				j.srv.sched[j.key].inflight = false
				br.mu.Unlock()
				refreshes++
			}
			if d := next.Sub(now); d > maxSleep {
				next = now.Add(maxSleep)
			}
			if !next.After(now) {
				next = now.Add(backoffMin)
			}
			now = next
		}
	}
	perHour := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(100*perHour/float64(time.Hour.Nanoseconds()), "pct-core")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(float64(refreshes)/float64(b.N), "refreshes/hour")
}
