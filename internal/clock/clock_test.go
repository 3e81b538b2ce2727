package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeTimersFireInOrderAtTheirDeadline(t *testing.T) {
	f := NewFake(t0)
	late := f.After(3 * time.Second)
	early := f.After(time.Second)
	f.Advance(999 * time.Millisecond)
	if _, ok := fired(early); ok {
		t.Fatal("a 1 s timer fired after 999 ms")
	}
	f.Advance(time.Millisecond)
	if v, ok := fired(early); !ok || !v.Equal(t0.Add(time.Second)) {
		t.Fatalf("1 s timer: fired=%v at %v, want at %v", ok, v, t0.Add(time.Second))
	}
	f.Advance(5 * time.Second)
	if v, ok := fired(late); !ok || !v.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("3 s timer: fired=%v at %v", ok, v)
	}
	if got := f.Now(); !got.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("Now = %v, want %v", got, t0.Add(6*time.Second))
	}
	if f.Waiters() != 0 {
		t.Fatalf("%d waiters left", f.Waiters())
	}
}

func TestFakeJumpMovesWallTimeOnly(t *testing.T) {
	f := NewFake(t0)
	c := f.After(time.Minute)
	f.Jump(time.Hour)
	if _, ok := fired(c); ok {
		t.Fatal("a wall-clock jump fired a monotonic timer")
	}
	if !f.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("Now = %v after a jump of 1h", f.Now())
	}
	f.Advance(time.Minute)
	if _, ok := fired(c); !ok {
		t.Fatal("timer did not fire after its monotonic minute")
	}
}

func TestFakeTickerAndStop(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(10 * time.Second)
	n := 0
	for range 3 {
		f.Advance(10 * time.Second)
		if _, ok := fired(tk.C()); ok {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d ticks in 30 s of a 10 s ticker, want 3", n)
	}
	f.Advance(25 * time.Second) // the reader is away: ticks are dropped, not queued
	if _, ok := fired(tk.C()); !ok {
		t.Fatal("no tick pending after 25 s")
	}
	if _, ok := fired(tk.C()); ok {
		t.Fatal("a slow reader found more than one tick queued")
	}
	tk.Stop()
	f.Advance(time.Minute)
	if _, ok := fired(tk.C()); ok {
		t.Fatal("a stopped ticker ticked")
	}
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
}

func TestFakeWaitTimers(t *testing.T) {
	f := NewFake(t0)
	done := make(chan struct{})
	go func() {
		<-f.After(time.Second)
		close(done)
	}()
	f.WaitTimers(1)
	f.Advance(time.Second)
	<-done
}

func TestZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(t0)
	if _, ok := fired(f.After(0)); !ok {
		t.Fatal("After(0) did not fire at once")
	}
	if _, ok := fired(f.After(-time.Second)); !ok {
		t.Fatal("After(-1s) did not fire at once")
	}
}

func TestOrSystem(t *testing.T) {
	if OrSystem(nil) != System {
		t.Fatal("OrSystem(nil) is not System")
	}
	f := NewFake(t0)
	if OrSystem(f) != Clock(f) {
		t.Fatal("OrSystem(f) is not f")
	}
}
