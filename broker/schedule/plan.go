package schedule

import (
	"container/heap"
	"time"
)

// SetServer sets the refresh rule of server. Its idle tokens are looked at
// again at once: a longer rule or keep-warm may make them due.
func (q *Queue) SetServer(server string, p Policy) {
	q.mu.Lock()
	s := q.serverLocked(server)
	s.policy = p
	for _, e := range s.keys {
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
		if !s.policy.KeepWarm || s.keys[""] != nil {
			continue
		}
		e := q.entryLocked(Key{Server: url}, now)
		e.next = now
		q.place(e)
	}
	q.mu.Unlock()
	q.wakeup()
}

// Used records a caller's request for k at now, creating its entry (with
// nothing planned: the caller's own fetch comes first). A token that had
// gone idle is due again. It takes only the read lock when the entry
// exists and is not idle, so the cache-hit path stays cheap.
func (q *Queue) Used(k Key, now time.Time) {
	q.mu.RLock()
	e := q.lookupLocked(k)
	if e != nil {
		e.lastUsed.Store(now.UnixNano())
		parked := e.parked
		q.mu.RUnlock()
		if parked {
			q.mu.Lock()
			if e.parked && q.lookupLocked(k) == e {
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
	q.entryLocked(k, now).lastUsed.Store(now.UnixNano())
	q.mu.Unlock()
}

// Adopt plans a token obtained earlier (loaded from a store): due at its
// refresh point, even if that has passed, and last used at used.
func (q *Queue) Adopt(k Key, issued, expires, used time.Time) {
	q.mu.Lock()
	e := q.entryLocked(k, used)
	e.issued, e.expires = issued, expires
	e.next = RefreshAt(issued, expires, q.rand())
	e.lastUsed.Store(used.UnixNano())
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
}

// Due hands out the keys due at now, at most limit of them (no limit when
// limit <= 0), earliest first, and marks them in flight until [Queue.Done].
// It returns when the next planned refresh is due: zero when none is,
// not after now when more are due than limit allowed. A due token nobody
// asked for within its idle rule is not handed out; it waits for the next
// [Queue.Used].
func (q *Queue) Due(now time.Time, limit int) ([]Key, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var keys []Key
	for len(q.due) > 0 && !q.due[0].next.After(now) && (limit <= 0 || len(keys) < limit) {
		e := heap.Pop(&q.due).(*entry)
		if q.idleLocked(e, now) {
			e.parked = true
			continue
		}
		e.inflight, e.settled = true, false
		keys = append(keys, e.key)
	}
	if len(q.due) == 0 {
		return keys, time.Time{}
	}
	return keys, q.due[0].next
}

// Done ends the refresh of k that Due handed out. A refresh that recorded
// neither success nor failure (its result was discarded, say because the
// sign-in changed meanwhile) is tried again a second later.
func (q *Queue) Done(k Key, now time.Time) {
	q.mu.Lock()
	e := q.lookupLocked(k)
	if e == nil || !e.inflight {
		q.mu.Unlock()
		return
	}
	e.inflight = false
	if !e.settled && !e.next.After(now) {
		e.next = now.Add(retryGap)
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
	e.attempt, e.err, e.permanent, e.settled, e.parked = 0, nil, false, true, false
	e.issued, e.expires = issued, expires
	e.next = RefreshAt(issued, expires, q.rand())
	if floor := now.Add(minRefreshGap); e.next.Before(floor) {
		e.next = floor
	}
	next := e.next
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
	return next
}

// Failed records a failed refresh of k: a transient failure is retried
// after [Backoff]; a permanent one waits for [Queue.Retry].
func (q *Queue) Failed(k Key, now time.Time, f Failure) {
	q.mu.Lock()
	e := q.entryLocked(k, now)
	e.err, e.settled = f.Err, true
	if f.Permanent {
		e.permanent = true
	} else {
		e.attempt++
		e.next = now.Add(Backoff(e.attempt, f.Remaining, q.rand()))
	}
	q.place(e)
	q.mu.Unlock()
	q.wakeup()
}

// Retry makes every entry with a recorded failure due now, permanent ones
// included: what they failed on (the sign-in, the configuration) changed.
func (q *Queue) Retry(now time.Time) {
	q.mu.Lock()
	for _, s := range q.servers {
		for _, e := range s.keys {
			if e.err == nil {
				continue
			}
			e.permanent, e.attempt, e.err = false, 0, nil
			e.next = now
			q.place(e)
		}
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
	for _, s := range q.servers {
		for _, e := range s.keys {
			if e.permanent {
				continue
			}
			e.attempt = 0
			planned := e.next
			if !e.expires.IsZero() {
				planned = RefreshAt(e.issued, e.expires, q.rand())
			}
			if planned.IsZero() {
				continue // never obtained: the caller's request owns it
			}
			if !planned.After(now) {
				planned = now.Add(time.Duration(q.rand() * float64(resyncSpread)))
			}
			e.next = planned
			q.place(e)
		}
	}
	q.mu.Unlock()
	q.wakeup()
}

// Remove forgets k. A refresh of k in flight ends without effect.
func (q *Queue) Remove(k Key) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.servers[k.Server]
	if s == nil {
		return
	}
	if e := s.keys[k.Scopes]; e != nil {
		q.drop(e)
		delete(s.keys, k.Scopes)
	}
}

// RemoveServer forgets server: its rule and every entry.
func (q *Queue) RemoveServer(server string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s := q.servers[server]; s != nil {
		for _, e := range s.keys {
			q.drop(e)
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
	for _, s := range q.servers {
		for _, e := range s.keys {
			e.idx = -1
		}
		s.keys = map[string]*entry{}
	}
	q.due = nil
}

// drop takes e out of the heap; the caller deletes it from its server.
func (q *Queue) drop(e *entry) {
	if e.idx >= 0 {
		heap.Remove(&q.due, e.idx)
	}
	e.inflight = false
}
