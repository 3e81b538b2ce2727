package peercred

import (
	"net"
	"testing"
)

// fakeConn is a connection the limiter may close to make room; it only
// records that it was chosen.
type fakeConn struct {
	net.Conn
	name string
}

type admitted struct {
	s *slot
	c *fakeConn
}

func admitOK(t *testing.T, l *Limiter, pid int32, name string) admitted {
	t.Helper()
	c := &fakeConn{name: name}
	s, victim, err := l.admit(Cred{UID: 1000, PID: pid}, c)
	if err != nil {
		t.Fatalf("admit %s: %v", name, err)
	}
	if victim != nil {
		t.Fatalf("admit %s closed %s; there was room", name, victim.(*fakeConn).name)
	}
	l.identified(s)
	return admitted{s, c}
}

func TestLimiterPerProcessAndOtherUIDs(t *testing.T) {
	l := NewLimiter(Limits{Total: 100, PerProcess: 2, OwnUID: 1000, OtherUIDs: 1})
	a := admitOK(t, l, 1, "a1")
	admitOK(t, l, 1, "a2")
	_, _, err := l.admit(Cred{UID: 1000, PID: 1}, &fakeConn{})
	if err == nil || err.Limit != "per-process" || err.Max != 2 || err.PID != 1 {
		t.Fatalf("third connection of one process: %v", err)
	}
	admitOK(t, l, 2, "b1") // another process has its own share
	l.release(a.s)
	admitOK(t, l, 1, "a3") // room again once one closes

	if _, _, err := l.admit(Cred{UID: 0, PID: 9}, &fakeConn{}); err != nil {
		t.Fatalf("first connection of another uid: %v", err)
	}
	if _, _, err := l.admit(Cred{UID: 0, PID: 10}, &fakeConn{}); err == nil || err.Limit != "other-uids" {
		t.Fatalf("second connection of other uids: %v", err)
	}
	if got := l.Open(); got != 4 {
		t.Fatalf("Open = %d, want 4", got)
	}
}

// At the total, a newcomer takes the place of the longest idle connection
// of the process holding the most, never a busy one, never one still in
// its handshake, and never to end up holding more than its victim's
// process did.
func TestLimiterTotalTakesIdleConnectionOfHeaviest(t *testing.T) {
	l := NewLimiter(Limits{Total: 4, PerProcess: 3, OwnUID: 1000})
	a1 := admitOK(t, l, 1, "a1")
	a2 := admitOK(t, l, 1, "a2")
	admitOK(t, l, 1, "a3")
	admitOK(t, l, 2, "b1")

	end := l.begin(a1.s) // a1 busy: a2 is the longest idle of process 1
	s, victim, err := l.admit(Cred{UID: 1000, PID: 3}, &fakeConn{name: "c1"})
	if err != nil || victim != a2.c {
		t.Fatalf("newcomer: victim %v, err %v; want a2 closed", victim, err)
	}
	l.identified(s)
	end()
	// a2 closing later (its Close) must not free a second place.
	l.release(a2.s)
	if got := l.Open(); got != 4 {
		t.Fatalf("Open = %d after the victim's own close, want 4", got)
	}

	// Processes 1 (a1, a3), 2 (b1) and 3 (c1): process 2 asking again
	// would hold 2, as many as process 1: it may take one of process 1's.
	_, victim, err = l.admit(Cred{UID: 1000, PID: 2}, &fakeConn{name: "b2"})
	if err != nil || victim == nil || victim.(*fakeConn).name[0] != 'a' {
		t.Fatalf("process 2's second: victim %v, err %v; want one of process 1's", victim, err)
	}
	// Processes 1, 2 and 3 now hold 1, 2 and 1: process 2 asking a third
	// time would hold 3, more than anyone it could displace: refused.
	if _, _, err := l.admit(Cred{UID: 1000, PID: 2}, &fakeConn{}); err == nil || err.Limit != "total" {
		t.Fatalf("process 2's third: %v, want the total limit", err)
	}
}

func TestLimiterTotalRefusesWhenNothingIsIdle(t *testing.T) {
	l := NewLimiter(Limits{Total: 2, PerProcess: 2, OwnUID: 1000})
	a := admitOK(t, l, 1, "a1")
	c := &fakeConn{name: "a2"}
	b, _, err := l.admit(Cred{UID: 1000, PID: 1}, c) // in its handshake: not identified
	if err != nil {
		t.Fatal(err)
	}
	defer l.begin(a.s)()
	if _, _, err := l.admit(Cred{UID: 1000, PID: 2}, &fakeConn{}); err == nil || err.Limit != "total" || err.Max != 2 {
		t.Fatalf("with one busy and one unidentified: %v, want the total limit", err)
	}
	l.identified(b)
	if _, victim, err := l.admit(Cred{UID: 1000, PID: 2}, &fakeConn{}); err != nil || victim != c {
		t.Fatalf("once identified and idle: victim %v, err %v", victim, err)
	}
}

func TestLimiterRefusedHeldOpen(t *testing.T) {
	l := NewLimiter(Limits{Refused: 1})
	if !l.holdRefused() {
		t.Fatal("first refused connection not held")
	}
	if l.holdRefused() {
		t.Fatal("second refused connection held beyond Refused")
	}
	l.dropRefused()
	if !l.holdRefused() {
		t.Fatal("no room after one closed")
	}
}

func TestWorthLogging(t *testing.T) {
	var logged []uint64
	for n := uint64(1); n <= 20; n++ {
		if worthLogging(n) {
			logged = append(logged, n)
		}
	}
	if len(logged) != 5 || logged[4] != 16 {
		t.Fatalf("logged %v, want 1 2 4 8 16", logged)
	}
}
