package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a [Clock] whose time moves only when a test says so: Advance
// moves wall and monotonic time together (time passing), Jump moves wall
// time alone (a suspend or a clock change, during which timers stand
// still). WaitTimers lets a test advance only once the code under test
// is waiting, the way SPIRE's mock clock offers WaitForAfter, so no test
// sleeps. The zero value is not usable: call [NewFake].
type Fake struct {
	mu      sync.Mutex
	cond    *sync.Cond
	wall    time.Time
	mono    time.Duration
	waiters []*fakeWaiter
}

type fakeWaiter struct {
	at     time.Duration
	every  time.Duration // >0 for a ticker
	ch     chan time.Time
	active bool
}

// NewFake returns a fake clock whose wall time starts at start.
func NewFake(start time.Time) *Fake {
	f := &Fake{wall: start}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// Now implements [Clock].
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wall
}

// After implements [Clock].
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer implements [Clock].
func (f *Fake) NewTimer(d time.Duration) Timer {
	return fakeTimer{f, f.add(d, 0)}
}

// NewTicker implements [Clock]. It panics on d <= 0, as time.NewTicker does.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return fakeTicker{f, f.add(d, d)}
}

func (f *Fake) add(d, every time.Duration) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{at: f.mono + max(d, 0), every: every, ch: make(chan time.Time, 1), active: true}
	if d <= 0 && every == 0 {
		w.ch <- f.wall
		w.active = false
		return w
	}
	f.waiters = append(f.waiters, w)
	f.cond.Broadcast()
	return w
}

// Advance moves wall and monotonic time forward by d and fires, in order
// of their deadlines, every timer and tick due by then.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.mono + d
	start := f.wall.Add(-f.mono)
	for {
		w := f.nextDueLocked(end)
		if w == nil {
			break
		}
		f.mono = w.at
		f.wall = start.Add(f.mono)
		select {
		case w.ch <- f.wall:
		default: // a ticker's reader is behind: drop the tick
		}
		if w.every > 0 {
			w.at += w.every
		} else {
			f.removeLocked(w)
		}
	}
	f.mono = end
	f.wall = start.Add(end)
}

func (f *Fake) nextDueLocked(end time.Duration) *fakeWaiter {
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at < f.waiters[j].at })
	if len(f.waiters) == 0 || f.waiters[0].at > end {
		return nil
	}
	return f.waiters[0]
}

func (f *Fake) removeLocked(w *fakeWaiter) bool {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			w.active = false
			f.cond.Broadcast()
			return true
		}
	}
	return false
}

// Jump moves wall time by d (forward or back) without firing timers: what
// a suspend or a clock change looks like to a process.
func (f *Fake) Jump(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall = f.wall.Add(d)
}

// Waiters reports how many timers and tickers are pending.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// WaitTimers blocks until at least n timers or tickers are pending, that
// is until the code under test has gone to sleep on this clock.
func (f *Fake) WaitTimers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.waiters) < n {
		f.cond.Wait()
	}
}

type fakeTimer struct {
	f *Fake
	w *fakeWaiter
}

func (t fakeTimer) C() <-chan time.Time { return t.w.ch }
func (t fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.removeLocked(t.w)
}

type fakeTicker struct {
	f *Fake
	w *fakeWaiter
}

func (t fakeTicker) C() <-chan time.Time { return t.w.ch }
func (t fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.removeLocked(t.w)
}
