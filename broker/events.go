package broker

import "sync/atomic"

// EventKind says what happened to a server.
type EventKind int

// Event kinds.
const (
	// EventRefreshed: a new token was obtained; Event.Token holds it.
	EventRefreshed EventKind = iota + 1
	// EventFailed: a refresh failed; Event.Server says why.
	EventFailed
	// EventChanged: the server was added or reconfigured, or its state
	// changed without a refresh (a logout, a sign-in, NEEDS_LOGIN).
	EventChanged
	// EventRemoved: the server was removed; Event.Server is its last state.
	EventRemoved
)

// Event is one change of a server, as WatchTokens streams it.
type Event struct {
	Kind   EventKind
	Server ServerInfo
	// Token is a copy of the new token for EventRefreshed, else nil.
	Token *Token
}

// subscriptionBuffer bounds the events queued for one slow reader; past it
// the reader gets a fresh snapshot instead (Subscription.Overflowed), so no
// reader ever blocks the scheduler or other readers.
const subscriptionBuffer = 64

// Subscription delivers events of some servers. Read C; call Close when done.
type Subscription struct {
	C        <-chan Event
	c        chan Event
	servers  map[string]bool // nil: every server
	overflow atomic.Bool
	b        *Broker
}

// Subscribe returns a subscription to events of the given server URLs, or
// of every server when urls is empty.
func (b *Broker) Subscribe(urls []string) *Subscription {
	s := &Subscription{c: make(chan Event, subscriptionBuffer), b: b}
	s.C = s.c
	if len(urls) > 0 {
		s.servers = map[string]bool{}
		for _, u := range urls {
			s.servers[u] = true
		}
	}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[s] = struct{}{}
	// The new reader's snapshot comes next: changes are counted from here.
	for _, srv := range b.servers {
		info := b.serverInfoLocked(srv)
		srv.published, srv.publishedValid = info.State, !info.TokenExpiresAt.IsZero()
	}
	b.mu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
}

// Overflowed reports, once, that events were dropped because the reader
// fell behind; the reader should then take a fresh snapshot.
func (s *Subscription) Overflowed() bool { return s.overflow.Swap(false) }

// publishLocked sends an event of srv to every interested subscriber
// without ever blocking. The caller holds b.mu (for writing).
func (b *Broker) publishLocked(srv *server, kind EventKind, t *Token) {
	if len(b.subs) == 0 {
		return
	}
	ev := Event{Kind: kind, Server: b.serverInfoLocked(srv)}
	srv.published, srv.publishedValid = ev.Server.State, !ev.Server.TokenExpiresAt.IsZero()
	if t != nil {
		c := *t
		ev.Token = &c
	}
	for s := range b.subs {
		if s.servers != nil && !s.servers[srv.url] {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.overflow.Store(true)
		}
	}
}

// publishChangesLocked sends EventChanged for every server whose state
// differs from what watchers last heard: after a logout, a sign-in or a
// move to NEEDS_LOGIN, which change no token of their own accord (or drop
// them all). The caller holds b.mu for writing.
func (b *Broker) publishChangesLocked() {
	if len(b.subs) == 0 {
		return
	}
	for _, srv := range b.servers {
		if b.serverInfoLocked(srv).State != srv.published {
			b.publishLocked(srv, EventChanged, nil)
		}
	}
}

// publishExpiredLocked sends EventChanged for every server that watchers
// last heard of with a valid token and that holds none now: its token ran
// out with no refresh or sign-in event to say so. Other changes (a flight
// starting) are not this one's to publish. The caller holds b.mu for
// writing.
func (b *Broker) publishExpiredLocked() {
	if len(b.subs) == 0 {
		return
	}
	for _, srv := range b.servers {
		if srv.publishedValid && b.serverInfoLocked(srv).TokenExpiresAt.IsZero() {
			b.publishLocked(srv, EventChanged, nil)
		}
	}
}
