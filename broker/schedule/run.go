package schedule

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

const (
	// maxSleep bounds how long Run sleeps, so it notices suspends and
	// clock jumps, and turns for the watchdog, at least this often.
	maxSleep = 30 * time.Second
	// jumpTolerance is how far wall time may drift from a timer before
	// Run treats it as a suspend or a clock jump.
	jumpTolerance = time.Minute
)

// Run refreshes what comes due until ctx ends, then waits for the
// refreshes it started and returns nil. refresh is called on its own
// goroutine, at most Config.Parallel at once, and records its outcome with
// [Queue.Succeeded] or [Queue.Failed]; Run calls [Queue.Done] after it, in
// case it recorded none. A timer whose wall time disagrees with its monotonic length (a
// resumed laptop, a clock set by hand or NTP) makes Run [Queue.Resync].
func (q *Queue) Run(ctx context.Context, refresh func(ctx context.Context, k Key)) error {
	clk := clock.OrSystem(q.cfg.Clock)
	q.running.Store(true)
	defer q.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	var running atomic.Int64
	for {
		now := clk.Now()
		q.turns.Add(1)
		var next time.Time
		if free := q.cfg.Parallel - int(running.Load()); free > 0 {
			var keys []Key
			keys, next = q.Due(now, free)
			for _, k := range keys {
				running.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					refresh(ctx, k)
					running.Add(-1) // before Done's wake-up, so the loop sees the free slot
					q.Done(k, clk.Now())
				}()
			}
		}
		if !q.sleep(ctx, clk, now, sleepFor(now, next)) {
			return nil
		}
	}
}

// sleepFor is how long to wait at now for a refresh due at next (zero:
// none planned): never longer than maxSleep, never a hot loop.
func sleepFor(now, next time.Time) time.Duration {
	if next.IsZero() {
		return maxSleep
	}
	return min(max(next.Sub(now), backoffMin), maxSleep)
}

// sleep waits d, a wake-up or the end of ctx (reported as false). When
// the timer ran out, it compares the wall time passed since since with d.
func (q *Queue) sleep(ctx context.Context, clk clock.Clock, since time.Time, d time.Duration) bool {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-q.wake:
		return true
	case <-t.C():
	}
	now := clk.Now()
	if wall := wallElapsed(since, now); jumped(wall, d) {
		q.logger().Info("clock jump or resume detected; re-planning every token",
			slog.Duration("wall_elapsed", wall), slog.Duration("timer", d))
		q.Resync(now)
	}
	return true
}

// wallElapsed is to minus from in wall time. Both may carry Go's monotonic
// reading, and Sub would then use it alone (package time, "Monotonic
// Clocks"): the very difference the jump check needs would vanish.
func wallElapsed(from, to time.Time) time.Duration {
	return to.Round(0).Sub(from.Round(0))
}

// jumped reports whether wall time moved differently from a timer of
// length timer by more than the tolerance: a suspend (the monotonic timer
// stood still while wall time ran) or a wall-clock change.
func jumped(wall, timer time.Duration) bool {
	return wall > timer+jumpTolerance || wall < timer-jumpTolerance
}

func (q *Queue) logger() *slog.Logger {
	if q.cfg.Logger != nil {
		return q.cfg.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
