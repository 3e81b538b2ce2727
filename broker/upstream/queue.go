package upstream

import (
	"slices"
	"time"
)

// waiter is one request waiting at a gate. done is closed, under the
// gate's lock, once err is final: nil when let through.
type waiter struct {
	prio     Priority
	deadline time.Time // zero: none
	since    time.Time
	done     chan struct{}
	err      error
}

// late reports whether a turn at turn comes too late for w: a context
// deadline has passed at the deadline itself, so a turn exactly then is
// too late as well.
func (w *waiter) late(turn time.Time) bool {
	return !w.deadline.IsZero() && !turn.Before(w.deadline)
}

// admitLocked queues w, or turns it away at once.
func (g *Gate) admitLocked(w *waiter, now time.Time) error {
	turn := g.turnLocked(w.prio, now)
	switch {
	case len(g.queues[w.prio]) >= g.maxQueue:
		g.stats.Rejected++
		return g.waitError(w, turn, ErrQueueFull, now)
	case w.late(turn):
		g.stats.Rejected++
		return g.waitError(w, turn, g.lateReason(w, now), now)
	}
	g.queues[w.prio] = append(g.queues[w.prio], w)
	g.changed.Broadcast()
	if w.prio == Caller && len(g.queues[Background]) > 0 {
		g.failLateLocked(now) // background work yields, so its turns moved
	}
	return nil
}

// turnLocked is when a request of priority prio that joined its queue now
// would go, if nothing else changed: every queued caller goes first, and a
// background request also after the background requests queued before it.
// It replays the queue on a copy of the pacer, so it is exact.
func (g *Gate) turnLocked(prio Priority, now time.Time) time.Time {
	sim := g.pacer
	t := now
	for p := Caller; p <= prio; p++ {
		for range g.queues[p] {
			t = sim.Next(t, p)
			sim.Take(t, p)
		}
	}
	return sim.Next(t, prio)
}

// failLateLocked turns away every waiter whose turn now comes at or after
// its deadline, after a hold or a lower limit pushed turns back. One pass
// in queue order: a waiter turned away no longer delays those behind it.
func (g *Gate) failLateLocked(now time.Time) {
	sim := g.pacer
	t := now
	for p := Caller; p <= Background; p++ {
		kept := g.queues[p][:0]
		for _, w := range g.queues[p] {
			turn := sim.Next(t, p)
			if w.late(turn) {
				g.stats.Rejected++
				g.finishLocked(w, g.waitError(w, turn, g.lateReason(w, now), now))
				continue
			}
			sim.Take(turn, p)
			t = turn
			kept = append(kept, w)
		}
		clear(g.queues[p][len(kept):])
		g.queues[p] = kept
	}
}

// lateReason says whether the server's hold or the local limit makes w
// late.
func (g *Gate) lateReason(w *waiter, now time.Time) error {
	if held := g.pacer.HeldUntil(now); !held.IsZero() && w.late(held) {
		return ErrHeld
	}
	return ErrLimited
}

func (g *Gate) waitError(w *waiter, turn time.Time, reason error, now time.Time) *WaitError {
	e := &WaitError{Name: g.name, Priority: w.prio, Until: turn, Deadline: w.deadline, Setting: g.setting, Reason: reason}
	if reason == ErrHeld || !g.pacer.HeldUntil(now).IsZero() {
		e.Hold = g.hold
	}
	return e
}

// headLocked is the next request to go: the first caller, else the first
// background request.
func (g *Gate) headLocked() *waiter {
	for p := Caller; p <= Background; p++ {
		if len(g.queues[p]) > 0 {
			return g.queues[p][0]
		}
	}
	return nil
}

// pumpLocked lets through every head whose turn has come, then arms the
// timer for the next head's turn (or stops it when no one waits).
func (g *Gate) pumpLocked(now time.Time) {
	for {
		w := g.headLocked()
		if w == nil {
			g.disarmLocked()
			return
		}
		if !g.pacer.Take(now, w.prio) {
			g.armLocked(g.pacer.Next(now, w.prio))
			return
		}
		g.queues[w.prio] = slices.Delete(g.queues[w.prio], 0, 1)
		g.stats.Passed++
		if w.prio == Background {
			g.stats.Background++
		}
		if now.After(w.since) {
			g.stats.Waited++
		}
		g.finishLocked(w, nil)
	}
}

func (g *Gate) finishLocked(w *waiter, err error) {
	w.err = err
	close(w.done)
	g.changed.Broadcast()
}

func (g *Gate) removeLocked(w *waiter) {
	q := g.queues[w.prio]
	if i := slices.Index(q, w); i >= 0 {
		g.queues[w.prio] = slices.Delete(q, i, i+1)
	}
}

// armLocked makes sure the one timer fires at at. Its goroutine lives
// until the timer fires or is replaced, so none outlives the waiters.
func (g *Gate) armLocked(at time.Time) {
	if g.timer != nil && g.timerAt.Equal(at) {
		return
	}
	g.disarmLocked()
	// Measured again here rather than from the caller's now, so a timer
	// armed late (or after a fake clock moved) still fires at at.
	t := g.clk.NewTimer(at.Sub(g.clk.Now()))
	stop := make(chan struct{})
	g.timer, g.timerAt, g.timerStop = t, at, stop
	go func() {
		select {
		case <-t.C():
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.timerStop == stop {
				g.timer, g.timerStop = nil, nil
			}
			g.pumpLocked(g.clk.Now())
		case <-stop:
		}
	}()
}

func (g *Gate) disarmLocked() {
	if g.timer == nil {
		return
	}
	g.timer.Stop()
	close(g.timerStop)
	g.timer, g.timerStop = nil, nil
}
