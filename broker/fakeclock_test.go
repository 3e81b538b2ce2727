package broker_test

import (
	"sync"
	"time"
)

// fakeClock is a Clock whose wall time and timers move only when the test
// says: Advance moves both (time passing), Jump moves wall time alone (a
// suspend or a clock change, during which timers stand still).
type fakeClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	wall   time.Time
	mono   time.Duration
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Duration
	ch chan time.Time
}

func newFakeClock(start time.Time) *fakeClock {
	c := &fakeClock{wall: start}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, fakeTimer{at: c.mono + d, ch: ch})
	c.cond.Broadcast()
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
	c.mono += d
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at <= c.mono {
			t.ch <- c.wall
		} else {
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
}

// WaitTimer blocks until a timer is armed (the loop has gone to sleep), so
// a test advances time only when the loop waits on it (SPIRE's
// WaitForAfter).
func (c *fakeClock) WaitTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) == 0 {
		c.cond.Wait()
	}
}
