package schedule

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// SetServer sets the refresh rule of server. Its idle tokens are looked at
// again at once: a longer rule or keep-warm may make them due.
func (q *Queue) SetServer(server string, p Policy) {
	q.mu.Lock()
	s := q.serverLocked(server)
	s.policy = p
	for _, e := range s.entries {
		if e.parked {
			e.parked = false
			q.place(e)
		}
	}
	q.mu.Unlock()
	q.wakeup()
}

// Warm gives every keep-warm server without one a default-scope entry due
// now. Call it when tokens can be got (someone is signed in); [Queue.Clear]
// takes the entries away again.
func (q *Queue) Warm(now time.Time) {
	q.mu.Lock()
	for url, s := range q.servers {
		if !s.policy.KeepWarm || q.entries[Key{Server: url}] != nil {
			continue
		}
		e := q.entryLocked(Key{Server: url}, now)
		e.next = nanos(now)
		q.place(e)
	}
	q.mu.Unlock()
	q.wakeup()
}

// Used records a caller's request for k at now, creating its entry (with
// nothing planned: the caller's own fetch comes first). A token that had
// gone idle is due again if the request makes it wanted (see [Queue.Due]):
// one still valid is refreshed in the background; one expired is left to
// the caller's fetch. It takes only the read lock and allocates nothing
// when the entry exists and is not idle, so the cache-hit path stays
// cheap.
func (q *Queue) Used(k Key, now time.Time) {
	at := nanos(now)
	q.mu.RLock()
	e := q.lookupLocked(k)
	if e != nil {
		e.lastUsed.Store(at)
		wake := e.parked && q.wantedLocked(e, at)
		q.mu.RUnlock()
		if wake {
			q.mu.Lock()
			if e.parked && q.lookupLocked(k) == e && q.wantedLocked(e, at) {
				e.parked = false
				q.place(e)
			}
			q.mu.Unlock()
			q.wakeup()
		}
		return
	}
	q.mu.RUnlock()
	q.mu.Lock()
	q.entryLocked(k, now).lastUsed.Store(at)
	q.mu.Unlock()
}

// Adopt plans a token obtained earlier (loaded from a store): due at its
// refresh point, even if that has passed, and last used at used. A used
// not after issued says nobody asked for it in its lifetime as far as
// anyone knows: under the lifetime rule it is refreshed only if a request
// comes before its refresh point.
func (q *Queue) Adopt(k Key, issued, expires, used time.Time) {
	q.mu.Lock()
	e := q.entryLocked(k, used)
	e.issued, e.expires = nanos(issued), nanos(expires)
	e.next = nanos(RefreshAt(issued, expires, q.rand()))
	e.lastUsed.Store(used.UnixNano())
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
}

// Due hands out the keys due at now, at most limit of them (no limit when
// limit <= 0), earliest first, and marks them in flight until their
// outcome ([Queue.Succeeded], [Queue.Failed]) or [Queue.Done].
// It returns when the next planned refresh is due: zero when none is,
// not after now when more are due than limit allowed.
//
// Only a refresh that is for someone is handed out, so an idle token
// costs the IdP nothing: its server is keep-warm; or its Policy (else the
// Config) has an IdleAfter and a request came within that long before
// now; or, by default, a request came after the token held was obtained,
// within a quarter of its lifetime before now, and the token is still
// valid. The same rule holds for the retries after
// a failure, so a failing token nobody uses is not retried for nobody.
// An unwanted key is parked (Entry.Idle) until a [Queue.Used] makes it
// wanted, or [Queue.Succeeded] (a caller's fetch) plans it afresh.
func (q *Queue) Due(now time.Time, limit int) ([]Key, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var keys []Key
	at := nanos(now)
	for len(q.due) > 0 && q.due[0].at <= at && (limit <= 0 || len(keys) < limit) {
		e := heap.Pop(&q.due).(dueItem).e
		if !q.wantedLocked(e, at) {
			e.parked = true
			continue
		}
		e.inflight = true
		keys = append(keys, e.key)
	}
	if len(q.due) == 0 {
		return keys, time.Time{}
	}
	return keys, wall(q.due[0].at)
}

// Next is when the earliest planned refresh is due, zero when none is. It
// hands nothing out (see Due).
func (q *Queue) Next() time.Time {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if len(q.due) == 0 {
		return time.Time{}
	}
	return wall(q.due[0].at)
}

// Done ends the refresh of k that Due handed out, whatever became of it:
// one that recorded neither success nor failure (its result was
// discarded, say because the sign-in changed meanwhile) is tried again a
// second later. After an outcome it has nothing left to do, so a driver
// that recorded one may skip it.
func (q *Queue) Done(k Key, now time.Time) {
	q.mu.Lock()
	e := q.lookupLocked(k)
	if e == nil || !e.inflight {
		q.mu.Unlock()
		return
	}
	e.inflight = false
	if e.next <= nanos(now) {
		e.next = nanos(now.Add(retryGap))
	}
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
}

// Succeeded records a token for k obtained at issued and expiring at
// expires (by a background refresh or a caller's), forgets failures and
// plans the next refresh, which it returns. However short the token, the
// next refresh is at least 10 s away.
func (q *Queue) Succeeded(k Key, now, issued, expires time.Time) time.Time {
	q.mu.Lock()
	e := q.entryLocked(k, now)
	e.attempt, e.err, e.permanent, e.inflight, e.parked, e.failingSince = 0, nil, false, false, false, 0
	e.issued, e.expires = nanos(issued), nanos(expires)
	next := RefreshAt(issued, expires, q.rand())
	if floor := now.Add(minRefreshGap); next.Before(floor) {
		next = floor
	}
	e.next = nanos(next)
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
	return next
}

// Failed records a failed refresh of k: a transient failure is retried
// after [Backoff], and not before f.NotBefore; a permanent one waits for
// [Queue.Retry].
func (q *Queue) Failed(k Key, now time.Time, f Failure) {
	q.mu.Lock()
	e := q.entryLocked(k, now)
	e.err, e.inflight = f.Err, false
	if f.Permanent {
		e.permanent = true
	} else {
		e.attempt++
		if e.failingSince == 0 {
			e.failingSince = nanos(now)
		}
		failing := time.Duration(nanos(now) - e.failingSince)
		next := now.Add(RetryDelay(e.attempt, f.Remaining, failing, q.rand()))
		if f.NotBefore.After(next) {
			next = f.NotBefore
		}
		e.next = nanos(next)
	}
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
}

// Retry makes every entry with a recorded failure due now, permanent ones
// included: what they failed on (the sign-in, the configuration) changed.
func (q *Queue) Retry(now time.Time) {
	q.mu.Lock()
	for _, e := range q.entries {
		if e.err == nil {
			continue
		}
		e.permanent, e.attempt, e.err, e.failingSince = false, 0, nil, 0
		e.next = nanos(now)
		q.place(e)
	}
	q.mu.Unlock()
	q.wakeup()
}

// Resync plans every entry afresh after a suspend or a clock jump, when
// the old plan and the old failures say nothing about the present: backoff
// is forgotten, each token's refresh point is drawn again, and whatever is
// due by now is spread over the next 30 s. Permanent failures stay.
func (q *Queue) Resync(now time.Time) {
	q.mu.Lock()
	for _, e := range q.sortedLocked() {
		if e.permanent {
			continue
		}
		// The quick retries start again; how long the refresh has been
		// failing is kept, so a fleet resuming during an outage does not
		// retry its backlog at once.
		e.attempt = 0
		planned := wall(e.next)
		if e.expires != 0 {
			planned = RefreshAt(wall(e.issued), wall(e.expires), q.rand())
		}
		if planned.IsZero() {
			continue // never obtained: the caller's request owns it
		}
		if !planned.After(now) {
			planned = now.Add(time.Duration(q.rand() * float64(resyncSpread)))
		}
		e.next = nanos(planned)
		q.place(e)
	}
	q.mu.Unlock()
	q.wakeup()
}

// sortedLocked is every entry in key order: a loop that draws jitter
// draws it in the same order each time, so a seeded queue (a simulator's)
// plans the same way on every run, which map order would not.
func (q *Queue) sortedLocked() []*entry {
	out := make([]*entry, 0, len(q.entries))
	for _, e := range q.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.key.Server, b.key.Server), cmp.Compare(a.key.Scopes, b.key.Scopes))
	})
	return out
}

// Remove forgets k. A refresh of k in flight ends without effect.
func (q *Queue) Remove(k Key) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.entries[k]; e != nil {
		q.forgetLocked(e)
	}
}

// RemoveServer forgets server: its rule and every entry.
func (q *Queue) RemoveServer(server string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s := q.servers[server]; s != nil {
		for len(s.entries) > 0 {
			q.forgetLocked(s.entries[0])
		}
		delete(q.servers, server)
	}
}

// Clear forgets every entry and keeps the servers' rules: nothing is
// refreshed until a request or [Queue.Warm] plans it again. Call it with
// the logout, in the same critical section as the tokens go.
func (q *Queue) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.entries {
		e.idx, e.inflight = -1, false
	}
	clear(q.entries)
	for _, s := range q.servers {
		s.entries = nil
	}
	q.due = nil
}
