package peercred

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Limits bound the connections a [Listener] keeps open. Each admitted
// connection costs three descriptors (the socket, a pidfd and a /proc
// folder) and some memory, so without a bound one caller holding
// connections open locks every other client out once the process runs out
// of descriptors. The checks run at accept time on the credentials the
// kernel reports (one getsockopt, no descriptor), before the process is
// pinned.
type Limits struct {
	// Total is how many connections every caller together may hold. When
	// it is reached, a new connection closes the idle connection (no call
	// in progress) of the process that holds the most, longest idle first,
	// provided that process holds more than the newcomer would; only when
	// no connection is idle is the newcomer refused. So a client that
	// connects for one call (xaactl token) gets in even while another
	// process holds every connection it may.
	Total int
	// PerProcess is how many connections one process (pid) may hold.
	PerProcess int
	// OwnUID is the daemon's uid; OtherUIDs bounds the connections of
	// every other uid together (they are refused by [UIDInterceptor]
	// anyway, but only once they have a connection to be told on).
	OwnUID    uint32
	OtherUIDs int
	// Refused is how many refused connections are kept open at once, so
	// their callers can be told which limit they hit; each stays open for
	// at most Linger (an I/O deadline). Beyond that, refused connections
	// are closed at once without a word.
	Refused int
	Linger  time.Duration
}

// LimitError says which of the [Limits] a connection was refused by.
type LimitError struct {
	// Limit names the bound: "per-process", "other-uids" or "total".
	Limit string
	// Max is its value; PID the refused caller.
	Max int
	PID int32
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case "per-process":
		return fmt.Sprintf("process %d already holds %d connections to this socket, the limit per process; close one before opening another", e.PID, e.Max)
	case "other-uids":
		return fmt.Sprintf("processes of other users already hold %d connections to this socket, their limit", e.Max)
	}
	return fmt.Sprintf("this socket already holds %d connections, its limit, and none of them is idle in a process holding more than process %d would; retry once a call ends", e.Max, e.PID)
}

// Limiter enforces [Limits] for a [Listener]; create it with [NewLimiter].
// It is safe for concurrent use.
type Limiter struct {
	lim Limits

	mu        sync.Mutex
	slots     map[*slot]struct{}
	perPID    map[int32]int
	otherUIDs int
	refused   int    // refused connections open now
	seq       uint64 // orders activity: a higher seq was active later
	// refusals and evictions count since the start, for the log.
	refusals, evictions uint64
}

// NewLimiter returns a limiter enforcing l. A zero or negative field means
// no bound of that kind (Refused: none kept open).
func NewLimiter(l Limits) *Limiter {
	return &Limiter{lim: l, slots: map[*slot]struct{}{}, perPID: map[int32]int{}}
}

// Open reports how many admitted connections are open now.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots)
}

// slot is one admitted connection's place in the limiter.
type slot struct {
	pid      int32
	other    bool
	busy     int    // calls in progress
	seq      uint64 // when it was last active
	released bool
	// ready is set once the handshake has identified the caller: only
	// then may the connection be closed for a newcomer, since closing
	// releases the pin's descriptors, which the identification reads.
	ready bool
	conn  net.Conn // closed when the slot is taken for a newcomer
}

// admit finds room for a connection of cred: a slot, and perhaps an idle
// connection to close to make room (the caller closes it, outside the
// lock). It fails with the limit that leaves no room.
func (l *Limiter) admit(cred Cred, c net.Conn) (*slot, net.Conn, *LimitError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	other := cred.UID != l.lim.OwnUID
	if other && l.lim.OtherUIDs > 0 && l.otherUIDs >= l.lim.OtherUIDs {
		return nil, nil, l.refuseLocked("other-uids", l.lim.OtherUIDs, cred.PID)
	}
	if n := l.lim.PerProcess; n > 0 && l.perPID[cred.PID] >= n {
		return nil, nil, l.refuseLocked("per-process", n, cred.PID)
	}
	var victim net.Conn
	if n := l.lim.Total; n > 0 && len(l.slots) >= n {
		v := l.victimLocked(l.perPID[cred.PID] + 1)
		if v == nil {
			return nil, nil, l.refuseLocked("total", n, cred.PID)
		}
		l.releaseLocked(v)
		l.evictions++
		victim = v.conn
	}
	l.seq++
	s := &slot{pid: cred.PID, other: other, seq: l.seq, conn: c}
	l.slots[s] = struct{}{}
	l.perPID[s.pid]++
	if other {
		l.otherUIDs++
	}
	return s, victim, nil
}

func (l *Limiter) refuseLocked(limit string, max int, pid int32) *LimitError {
	l.refusals++
	return &LimitError{Limit: limit, Max: max, PID: pid}
}

// victimLocked is the idle connection to close for a newcomer whose
// process would then hold min connections: one of the process holding the
// most (at least min), the longest idle of them. Nil when none qualifies.
func (l *Limiter) victimLocked(min int) *slot {
	var best *slot
	for s := range l.slots {
		if !s.ready || s.busy > 0 || l.perPID[s.pid] < min {
			continue
		}
		if best == nil || l.perPID[s.pid] > l.perPID[best.pid] ||
			l.perPID[s.pid] == l.perPID[best.pid] && s.seq < best.seq {
			best = s
		}
	}
	return best
}

func (l *Limiter) release(s *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(s)
}

func (l *Limiter) releaseLocked(s *slot) {
	if s.released {
		return
	}
	s.released = true
	delete(l.slots, s)
	if l.perPID[s.pid]--; l.perPID[s.pid] <= 0 {
		delete(l.perPID, s.pid)
	}
	if s.other {
		l.otherUIDs--
	}
}

// identified marks s as past its handshake.
func (l *Limiter) identified(s *slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.ready = true
}

// begin marks s busy for one call; the returned func ends the call.
func (l *Limiter) begin(s *slot) func() {
	l.mu.Lock()
	s.busy++
	l.seq++
	s.seq = l.seq
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		s.busy--
		l.seq++
		s.seq = l.seq
		l.mu.Unlock()
	}
}

// holdRefused reserves room to keep one refused connection open.
func (l *Limiter) holdRefused() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused >= l.lim.Refused {
		return false
	}
	l.refused++
	return true
}

func (l *Limiter) dropRefused() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused--
}

// counts returns the refusals and evictions so far.
func (l *Limiter) counts() (refusals, evictions uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusals, l.evictions
}

// worthLogging thins a flood out of the log: the 1st, 2nd, 4th, 8th...
// event is logged, with the count so far.
func worthLogging(n uint64) bool { return n&(n-1) == 0 }
