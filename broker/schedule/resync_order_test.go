package schedule_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
)

// TestResyncReproducible: two queues with the same seed and the same
// tokens plan the same after a resync. Resync draws jitter per entry; in
// map order the draws would land on different entries from run to run,
// and a seeded simulation would not be reproducible.
func TestResyncReproducible(t *testing.T) {
	plan := func() []time.Time {
		q := schedule.New(schedule.Config{Rand: seeded(7)})
		var keys []schedule.Key
		for i := range 40 {
			k := schedule.Key{Server: fmt.Sprintf("https://mcp%d.example/mcp", i)}
			keys = append(keys, k)
			q.Succeeded(k, t0, t0, t0.Add(time.Hour))
		}
		// After a long suspend every refresh point has passed: each is
		// drawn again within the resync spread.
		q.Resync(t0.Add(3 * time.Hour))
		var out []time.Time
		for _, k := range keys {
			out = append(out, entry(t, q, k).Next)
		}
		return out
	}
	a := plan()
	for range 5 {
		b := plan()
		for i := range a {
			if !a[i].Equal(b[i]) {
				t.Fatalf("entry %d: planned at %s in one run, %s in another", i, a[i], b[i])
			}
		}
	}
}
