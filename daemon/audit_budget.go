package daemon

import (
	"time"

	"github.com/xaad-dev/xaad/internal/auditlog"
)

// The audit log's share per window: what one caller, and all callers
// together, may write in full. Beyond it events are folded: equal events
// (but for their times) become one record with a count, written when the
// window ends. Nothing is dropped without being counted. Under the worst
// sustained flood the log grows by at most auditTotalBudget plus
// auditMaxGroups+1 records of auditlog.MaxRecord per window, about 1 MiB
// every 10 s, so the 24 MiB of history last minutes, not seconds; an
// ordinary burst (a proxy refreshing, a script in a loop) stays far below.
const (
	auditWindow       = 10 * time.Second
	auditCallerBudget = 64 << 10
	auditTotalBudget  = 512 << 10
	auditMaxGroups    = 64
	auditMaxCallers   = 4096
)

// callerKey tells callers apart for the budget.
type callerKey struct {
	pid int32
	exe string
}

// foldGroup counts equal events of one window.
type foldGroup struct {
	ev          auditlog.Event // the first, Time zeroed
	first, last time.Time
	n           int
}

// auditBudget is owned by the audit writer goroutine.
type auditBudget struct {
	used      map[callerKey]int
	usedTotal int
	groups    map[auditlog.Event]*foldGroup
	order     []*foldGroup // in the order groups began
	// overflow counts, per operation and outcome, what did not fit in
	// auditMaxGroups (see fold); its records name no caller or server.
	overflow  map[auditlog.Event]*foldGroup
	foldedNow int // events folded in this window
}

func newAuditBudget() *auditBudget {
	b := &auditBudget{}
	b.reset()
	return b
}

func (b *auditBudget) reset() {
	b.used = map[callerKey]int{}
	b.usedTotal = 0
	b.groups = map[auditlog.Event]*foldGroup{}
	b.overflow = map[auditlog.Event]*foldGroup{}
	b.order = nil
	b.foldedNow = 0
}

// admit reports whether ev (a cleaned event of size bytes) is written in
// full; if not, it is folded.
func (b *auditBudget) admit(ev auditlog.Event, size int) bool {
	k := callerKey{ev.Caller.PID, ev.Caller.Exe}
	if _, known := b.used[k]; !known && len(b.used) >= auditMaxCallers {
		k = callerKey{pid: -1} // so many callers: they share one budget
	}
	if b.used[k]+size <= auditCallerBudget && b.usedTotal+size <= auditTotalBudget {
		b.used[k] += size
		b.usedTotal += size
		return true
	}
	b.fold(ev)
	return false
}

// fold counts ev in a group of the window. While groups are few, equal
// events are folded together; as they grow, coarser keys take over, so the
// summary still names the caller and the server (then the caller alone)
// of what it counts: first the whole event, up to half of auditMaxGroups;
// then caller and server, up to three quarters; then the caller, up to
// auditMaxGroups. Past that only the operation and outcome are kept.
func (b *auditBudget) fold(ev auditlog.Event) {
	b.foldedNow++
	at := ev.Time
	whole := ev
	whole.Time = time.Time{}
	byServer := auditlog.Event{Operation: ev.Operation, Outcome: ev.Outcome, Server: ev.Server, Caller: ev.Caller}
	byCaller := auditlog.Event{Operation: ev.Operation, Outcome: ev.Outcome, Caller: ev.Caller}
	var g *foldGroup
	for _, k := range []struct {
		key   auditlog.Event
		limit int
	}{
		{whole, auditMaxGroups / 2},
		{byServer, auditMaxGroups * 3 / 4},
		{byCaller, auditMaxGroups},
	} {
		if g = b.groups[k.key]; g == nil && len(b.groups) < k.limit {
			g = &foldGroup{ev: k.key, first: at}
			b.groups[k.key] = g
			b.order = append(b.order, g)
		}
		if g != nil {
			break
		}
	}
	if g == nil {
		key := auditlog.Event{Operation: ev.Operation, Outcome: ev.Outcome}
		if g = b.overflow[key]; g == nil {
			g = &foldGroup{ev: key, first: at}
			b.overflow[key] = g
			b.order = append(b.order, g)
		}
	}
	g.n++
	g.last = at
}

// endWindow returns the records of the folded events and starts a new
// window.
func (b *auditBudget) endWindow() []auditlog.Event {
	var out []auditlog.Event
	for _, g := range b.order {
		ev := g.ev
		ev.Time = g.last
		if g.n > 1 {
			ev.Repeated, ev.Since = g.n, g.first
		}
		out = append(out, ev)
	}
	b.reset()
	return out
}
