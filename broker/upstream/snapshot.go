package upstream

import "time"

// Stats counts what a gate did since it was made.
type Stats struct {
	// Passed counts requests let through; Background those of them that
	// were background work.
	Passed, Background uint64
	// Waited counts requests let through later than they asked.
	Waited uint64
	// Rejected counts requests turned away at once with a [*WaitError].
	Rejected uint64
	// Cancelled counts requests whose context ended while they waited.
	Cancelled uint64
	// TooMany and Unavailable count observed 429 and 503 answers.
	TooMany, Unavailable uint64
	// Holds counts answers that started or extended a hold; Clipped
	// counts answers whose time was beyond [MaxHold].
	Holds, Clipped uint64
}

// Snapshot is a gate's state at one moment, for status.
type Snapshot struct {
	Name  string
	Limit Limit
	// HeldUntil is the end of a server's hold in force; zero when none.
	// Hold is the answer that set it.
	HeldUntil time.Time
	Hold      Hint
	// Callers and Background count the requests waiting.
	Callers, Background int
	// NextCaller is when a caller arriving now could go: now, unless the
	// bucket is empty, a hold is in force or callers are queued.
	NextCaller time.Time
	Stats      Stats
	// At is when the snapshot was taken.
	At time.Time
}

// Held reports whether requests are being held back: by a server's hold,
// or because callers are queued for the bucket.
func (s Snapshot) Held() bool { return !s.HeldUntil.IsZero() || s.Callers > 0 }

// Snapshot returns the gate's state now.
func (g *Gate) Snapshot() Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clk.Now()
	s := Snapshot{
		Name: g.name, Limit: g.pacer.Limit(), HeldUntil: g.pacer.HeldUntil(now),
		Callers: len(g.queues[Caller]), Background: len(g.queues[Background]),
		NextCaller: g.turnLocked(Caller, now), Stats: g.stats, At: now,
	}
	if !s.HeldUntil.IsZero() {
		s.Hold = g.hold
	}
	return s
}
