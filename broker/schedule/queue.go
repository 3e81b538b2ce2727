package schedule

import (
	"cmp"
	"container/heap"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// Queue defaults and limits.
const (
	// DefaultParallel bounds the refreshes Run starts at once.
	DefaultParallel = 8
	// minRefreshGap is the least time between two refreshes of one token,
	// whatever lifetime the server claims: never a tight loop.
	minRefreshGap = 10 * time.Second
	// retryGap delays a due refresh that ended without a result (its
	// flight was discarded), so it cannot spin.
	retryGap = time.Second
	// resyncSpread spreads the refreshes that a resync makes due at once.
	resyncSpread = 30 * time.Second
	// recentDivisor: under the lifetime rule a token is refreshed only if
	// it was used within a quarter of its lifetime before the refresh is
	// due (15 minutes of a 1-hour token), so a session that ended well
	// before the refresh point does not buy a token for nobody.
	// internal/fleetsim measured the trade-off (docs/fleet.md): a third
	// wasted more than the fleet target allows after an outage, shorter
	// windows waste less and make more callers wait.
	recentDivisor = 4
)

// Key names one token: an MCP server and a scope set.
type Key struct {
	// Server is the MCP server URL.
	Server string
	// Scopes is the normalised scope set (sorted, space separated); empty
	// is the server's default scopes.
	Scopes string
}

// Policy is one server's background refresh rule (see [Queue.Due] for
// the whole rule).
type Policy struct {
	// KeepWarm refreshes the server's tokens whether or not anyone asks;
	// [Queue.Warm] gives it a default-scope entry.
	KeepWarm bool
	// IdleAfter, when set, refreshes a token in the background only if
	// someone asked for it within this long before the refresh (or retry)
	// is due, the caller's own fetch included; zero means the queue's
	// default (Config.IdleAfter), and when that is zero too the lifetime
	// rule: only a token used since it was obtained, and within a
	// quarter of its lifetime before the refresh is due, is refreshed.
	IdleAfter time.Duration
}

// Failure describes a failed refresh to [Queue.Failed].
type Failure struct {
	// Err is what went wrong; [Entry] reports it until a success.
	Err error
	// Permanent: retrying cannot help. The entry waits for [Queue.Retry]
	// (a new sign-in or configuration) or a caller's forced request.
	Permanent bool
	// Remaining is how long the token held now stays valid (zero or less
	// when none is): a retry never waits past a quarter of it.
	Remaining time.Duration
	// NotBefore, when set, is the earliest time of the next attempt: the
	// end of a pause the server asked for (a 429 or 503 with Retry-After)
	// or of the client-side rate limit's wait. A backoff that ends later
	// still applies.
	NotBefore time.Time
}

// Config configures a [Queue]. The zero value works.
type Config struct {
	// Clock is Run's time source; nil means the system clock. The other
	// methods take the time as an argument.
	Clock clock.Clock
	// Rand returns jitter draws in [0, 1); nil means math/rand/v2. It must
	// be safe for concurrent use; a seeded one makes plans reproducible.
	Rand func() float64
	// IdleAfter is the idle rule of servers whose Policy has none (see
	// Policy.IdleAfter); zero means the lifetime rule.
	IdleAfter time.Duration
	// Parallel bounds the refreshes Run has running; zero means
	// DefaultParallel.
	Parallel int
	// Logger receives Run's notices (clock jumps); nil discards them.
	Logger *slog.Logger
}

// Entry is a snapshot of one key's schedule.
type Entry struct {
	Key Key
	// Next is when the background refresh is due; zero when none will
	// happen: nothing is planned (the token was never obtained, and a
	// caller's request owns the first fetch), or the entry is Idle.
	Next time.Time
	// Attempt counts transient failures since the last success.
	Attempt int
	// Err is the last failure since the last success, or nil.
	Err error
	// Permanent reports that Err is not retried in the background.
	Permanent bool
	// InFlight: Due handed the key out and no outcome has come back yet.
	InFlight bool
	// LastUsed is when a caller last asked for the token.
	LastUsed time.Time
	// Issued and Expires are those of the token held; zero when none.
	Issued, Expires time.Time
	// Idle: nobody asked for the token as the idle rule wants by the time
	// its refresh is due (or it came due so): no background refresh
	// happens unless a request comes first, and the next request after
	// the token expired fetches a new one.
	Idle bool
}

// Queue is the refresh plan of every token: a heap of due times, so
// finding what is due costs O(log n) per entry, with no goroutine or timer
// per entry. It is safe for concurrent use; no method calls out while
// holding its lock, so callers may hold their own locks around it.
type Queue struct {
	cfg  Config
	wake chan struct{}
	// running is set while Run runs: without it nobody reads wake, and a
	// simulator driving many queues pays nothing for it.
	running atomic.Bool

	mu      sync.RWMutex
	entries map[Key]*entry
	servers map[string]*serverPlan
	due     dueHeap // entries with a plan that are neither in flight, permanent nor idle

	turns atomic.Uint64
}

// serverPlan is one server's policy and entries.
type serverPlan struct {
	policy  Policy
	entries []*entry
}

// entry keeps its times as wall-clock unix nanoseconds (0: none): plans
// are about wall time, comparisons are cheap, and a queue of a simulated
// fleet stays small.
type entry struct {
	key     Key
	srv     *serverPlan
	next    int64
	attempt int
	// failingSince is when the transient failures since the last success
	// began (0: none): the retries' spread grows with it.
	failingSince int64
	err          error
	permanent    bool
	// inflight is set by Due and cleared by an outcome or Done.
	inflight bool
	parked   bool
	// issued and expires are those of the token held, zero when none.
	issued, expires int64
	// lastUsed (unix ns) is written under the read lock: the request path
	// must not serialise on the queue.
	lastUsed atomic.Int64
	idx      int // in due, or -1
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	return &Queue{cfg: cfg, wake: make(chan struct{}, 1), entries: map[Key]*entry{}, servers: map[string]*serverPlan{}}
}

func (q *Queue) rand() float64 {
	if q.cfg.Rand != nil {
		return q.cfg.Rand()
	}
	return rand.Float64()
}

// wakeup tells Run the plan changed; it never blocks.
func (q *Queue) wakeup() {
	if !q.running.Load() {
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) lookupLocked(k Key) *entry { return q.entries[k] }

func (q *Queue) serverLocked(url string) *serverPlan {
	s := q.servers[url]
	if s == nil {
		s = &serverPlan{}
		q.servers[url] = s
	}
	return s
}

// entryLocked returns the entry of k, creating it (used now, nothing
// planned) when missing.
func (q *Queue) entryLocked(k Key, now time.Time) *entry {
	e := q.entries[k]
	if e == nil {
		s := q.serverLocked(k.Server)
		e = &entry{key: k, srv: s, idx: -1}
		e.lastUsed.Store(now.UnixNano())
		s.entries = append(s.entries, e)
		q.entries[k] = e
	}
	return e
}

// forgetLocked takes e out of the heap, the entries and its server.
func (q *Queue) forgetLocked(e *entry) {
	if e.idx >= 0 {
		heap.Remove(&q.due, e.idx)
	}
	e.inflight = false
	delete(q.entries, e.key)
	list := e.srv.entries
	if i := slices.Index(list, e); i >= 0 {
		list[i] = list[len(list)-1]
		list[len(list)-1] = nil
		e.srv.entries = list[:len(list)-1]
	}
}

// place puts e in the heap of planned entries, or takes it out, after a
// change of its state.
func (q *Queue) place(e *entry) {
	want := e.next != 0 && !e.inflight && !e.permanent && !e.parked
	switch {
	case want && e.idx >= 0:
		q.due[e.idx].at = e.next
		heap.Fix(&q.due, e.idx)
	case want:
		heap.Push(&q.due, dueItem{at: e.next, e: e})
	case e.idx >= 0:
		heap.Remove(&q.due, e.idx)
	}
}

// wantedLocked is [Wanted] of e at (unix ns) under its server's policy.
// Callers hold at least the read lock.
func (q *Queue) wantedLocked(e *entry, at int64) bool {
	return wanted(e.srv.policy, q.cfg.IdleAfter, e.lastUsed.Load(), e.issued, e.expires, at)
}

// Wanted is the rule of [Queue.Due] on its own: whether a background
// refresh at `at` is for someone, for a token obtained at issued and
// expiring at expires (zero: none held) that a caller last asked for at
// used, under policy p and the queue's default idleAfter. Its server is
// keep-warm; or, under an idle_after rule, someone asked within that long
// before at; or, under the lifetime rule, someone asked since the token
// held was obtained, within a quarter of its lifetime before at, and it
// is still valid at. The request that fetched the token does not count
// under the lifetime rule (it comes before the token's issue time): a
// token used once is left to expire. Every rule only turns false as at
// grows, so a key found unwanted at its due time stays so until the next
// request, and never as used grows: a later request never makes a
// refresh less wanted. A driver that tells the queue of requests lazily (a
// simulator's) uses it to know which entries Due may have parked.
func Wanted(p Policy, idleAfter time.Duration, used, issued, expires, at time.Time) bool {
	return wanted(p, idleAfter, nanos(used), nanos(issued), nanos(expires), nanos(at))
}

func wanted(p Policy, idleAfter time.Duration, used, issued, expires, at int64) bool {
	if p.KeepWarm {
		return true
	}
	limit := p.IdleAfter
	if limit <= 0 {
		limit = idleAfter
	}
	if limit > 0 {
		return used != 0 && at-used <= int64(limit)
	}
	return expires != 0 && used > issued && at < expires && at-used <= (expires-issued)/recentDivisor
}

// nanos is t in the entry's form: wall unix nanoseconds, 0 for none.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// wall is nanos's inverse.
func wall(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (q *Queue) snapshotLocked(e *entry) Entry {
	out := Entry{
		Key: e.key, Next: wall(e.next), Attempt: e.attempt, Err: e.err, Permanent: e.permanent,
		InFlight: e.inflight, LastUsed: wall(e.lastUsed.Load()), Issued: wall(e.issued), Expires: wall(e.expires),
		Idle: e.parked,
	}
	if e.next != 0 && !e.inflight && !e.permanent && !q.wantedLocked(e, e.next) {
		out.Idle = true
	}
	if out.Idle {
		out.Next = time.Time{}
	}
	return out
}

// Entry returns the schedule of k.
func (q *Queue) Entry(k Key) (Entry, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	e := q.lookupLocked(k)
	if e == nil {
		return Entry{}, false
	}
	return q.snapshotLocked(e), true
}

// Entries returns the schedule of every token of server, by scope key.
func (q *Queue) Entries(server string) []Entry {
	q.mu.RLock()
	defer q.mu.RUnlock()
	s := q.servers[server]
	if s == nil {
		return nil
	}
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, q.snapshotLocked(e))
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Key.Scopes, b.Key.Scopes) })
	return out
}

// Len is the number of entries.
func (q *Queue) Len() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return len(q.entries)
}

// Turns counts Run's turns. Run turns at least every 30 s while it is
// healthy, so a watchdog that sees the count stand still over several of
// its own (monotonic) ticks knows the loop is stuck, without reading wall
// time, which may jump.
func (q *Queue) Turns() uint64 { return q.turns.Load() }
