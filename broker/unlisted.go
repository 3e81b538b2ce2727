package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// An unlisted server (a URL the configuration does not name, allowed by
// AllowUnlisted) costs nothing until it is proven real: until it yielded
// a token it is not registered, persisted or scheduled. Its first token is
// fetched in the request that asked for it and only there, in a slot of
// its own (so URLs that never answer cannot hold up the background
// refresh of servers that work), once per request; a failure is
// remembered briefly and never retried in the background. Every value
// here is documented in docs/limits.md, "Unlisted servers".
const (
	// MaxUnlistedServers bounds the servers registered without the
	// configuration (proven by use or added by hand). A new one beyond
	// it evicts the proven one unused for longest.
	MaxUnlistedServers = 256
	// UnlistedSlots is how many first-token flights of unlisted URLs
	// run at once, apart from the refresh of registered servers.
	UnlistedSlots = 4
	// MaxUnlistedPending bounds the unlisted URLs whose first token is
	// being fetched or waits for a slot.
	MaxUnlistedPending = 64
	// UnlistedTimeout bounds the first-token flight of an unlisted URL,
	// discovery included, and its wait for a slot.
	UnlistedTimeout = 10 * time.Second
	// UnlistedFailedFor is how long a failed unlisted URL is answered
	// with its failure, without going upstream.
	UnlistedFailedFor = 30 * time.Second
	// MaxUnlistedFailed bounds the failed URLs remembered; the oldest is
	// forgotten first.
	MaxUnlistedFailed = 1024
)

// slotAnswerMargin is how long before its deadline a request waiting for
// an unlisted slot gives up, to answer in time.
const slotAnswerMargin = 250 * time.Millisecond

// unlistedSet holds the unlisted URLs not registered (yet): those being
// tried, and those whose try failed a moment ago.
type unlistedSet struct {
	slots chan struct{} // UnlistedSlots tokens, taken by a flight

	mu      sync.Mutex
	pending map[string]*pendingServer
	failed  map[string]failedURL
}

type pendingServer struct {
	srv  *server
	refs int // requests holding srv; guarded by unlistedSet.mu
}

type failedURL struct {
	at  time.Time
	err *Error
}

func newUnlistedSet() *unlistedSet {
	return &unlistedSet{slots: make(chan struct{}, UnlistedSlots), pending: map[string]*pendingServer{}, failed: map[string]failedURL{}}
}

// unlistedServer is the entry a request for the unregistered URL url
// works with: the one other requests for url share, so they join one
// flight, or a new one. release ends the request's hold on it. A forced
// request (which the daemon bounds per caller) does not take a recent
// failure for an answer.
func (b *Broker) unlistedServer(url string, force bool) (*server, func(), error) {
	u := b.unlisted
	now := b.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	// A flight that ended since serverFor looked, or the configuration,
	// may have registered it.
	b.mu.RLock()
	s, ok := b.servers[url]
	b.mu.RUnlock()
	if ok {
		return s, func() {}, nil
	}
	if f, ok := u.failed[url]; ok {
		if left := UnlistedFailedFor - now.Sub(f.at); left > 0 && !force {
			return nil, nil, &Error{Reason: f.err.Reason, Err: f.err.Err, Permanent: f.err.Permanent,
				Msg: fmt.Sprintf("%s (this server is not in the configuration; its last try failed %s ago and is tried again in %s, or now if forced)",
					f.err.Msg, now.Sub(f.at).Round(time.Second), left.Round(time.Second))}
		}
		delete(u.failed, url)
	}
	// After the failure check: a flight that just failed is answered by
	// its failure, not joined again by a request that came as it ended.
	if p := u.pending[url]; p != nil {
		p.refs++
		return p.srv, func() { b.releaseUnlisted(url, p) }, nil
	}
	if len(u.pending) >= MaxUnlistedPending {
		return nil, nil, newError(ReasonLimitExceeded, false, nil,
			"xaad is already fetching the first token of %d servers that are not in the configuration, the limit of unlisted servers pending; retry in a moment, or add the server to [[server]] in the configuration (xaad's limits: docs/limits.md)", MaxUnlistedPending)
	}
	p := &pendingServer{srv: &server{url: url, origin: OriginUser, byUse: true, tokens: map[string]*Token{}}, refs: 1}
	p.srv.pending.Store(true)
	u.pending[url] = p
	return p.srv, func() { b.releaseUnlisted(url, p) }, nil
}

func (b *Broker) releaseUnlisted(url string, p *pendingServer) {
	u := b.unlisted
	u.mu.Lock()
	defer u.mu.Unlock()
	p.refs--
	if p.refs == 0 && u.pending[url] == p {
		delete(u.pending, url)
	}
}

// firstMint is mint for a pending server: in an unlisted slot, within
// UnlistedTimeout, discovered once (a transient failure after discovery is
// tried once more, as mintRetrying does). The server is registered once
// it yielded a token; a failure is remembered for UnlistedFailedFor.
func (b *Broker) firstMint(ctx context.Context, srv *server, scopes []string) (*Token, error) {
	gen := b.gen.Load()
	ctx, done, err := b.unlistedFlight(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	t, err := b.mint(ctx, srv, scopes)
	b.mu.RLock()
	discovered := srv.meta != nil
	b.mu.RUnlock()
	if err != nil && discovered && ctx.Err() == nil && isCaller(ctx) && transient(err) {
		// One more try, as mintRetrying's, which does not discover again.
		t, err = b.mint(ctx, srv, scopes)
	}
	if err == nil {
		err = b.promote(srv, scopeKey(scopes))
	}
	if err != nil {
		b.unlistedFailed(srv.url, err, gen)
		return nil, err
	}
	return t, nil
}

// unlistedFlight takes an unlisted slot for the work on a pending server
// and bounds that work by UnlistedTimeout; done ends both.
func (b *Broker) unlistedFlight(ctx context.Context) (_ context.Context, done func(), _ error) {
	release, err := b.unlistedSlot(ctx)
	if err != nil {
		return nil, nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, UnlistedTimeout)
	return fctx, func() { cancel(); release() }, nil
}

// unlistedSlot waits for an unlisted slot until shortly before the
// caller's deadline (so the caller hears which limit it met, not only
// that its deadline passed), at most UnlistedTimeout.
func (b *Broker) unlistedSlot(ctx context.Context) (func(), error) {
	left := UnlistedTimeout
	if p := planOf(ctx); p != nil {
		if _, d := p.state(); !d.IsZero() {
			left = min(left, d.Sub(b.now()))
		}
	} else if d, ok := ctx.Deadline(); ok {
		left = min(left, time.Until(d))
	}
	wait := left - min(slotAnswerMargin, left/10)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	select {
	case b.unlisted.slots <- struct{}{}:
		return func() { <-b.unlisted.slots }, nil
	case <-wctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, newError(ReasonLimitExceeded, false, nil,
			"xaad is fetching the first token of %d servers that are not in the configuration, the limit of unlisted first tokens at once, and none finished within the request's deadline; retry in a moment, or add the server to [[server]] in the configuration (xaad's limits: docs/limits.md)", UnlistedSlots)
	}
}

// unlistedFailed remembers that url's try failed, unless the failure was
// not the server's doing (a limit or a gate of xaad's, a stop, a sign-in
// that is missing or changed): those say nothing about the URL.
func (b *Broker) unlistedFailed(url string, err error, gen uint64) {
	var be *Error
	var we *upstream.WaitError
	if !errors.As(err, &be) || be.Reason == ReasonLimitExceeded || be.Reason == ReasonLoginRequired ||
		be == errStaleFlight || be == errClosed || errors.As(err, &we) {
		return
	}
	u := b.unlisted
	now := b.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if b.gen.Load() != gen {
		// The sign-in changed while the flight ran (and forgetFailures
		// ran under u.mu): its failure says nothing of the new one.
		return
	}
	if len(u.failed) >= MaxUnlistedFailed {
		oldest := ""
		for k, f := range u.failed {
			if now.Sub(f.at) >= UnlistedFailedFor {
				delete(u.failed, k)
				continue
			}
			if oldest == "" || f.at.Before(u.failed[oldest].at) {
				oldest = k
			}
		}
		if len(u.failed) >= MaxUnlistedFailed {
			delete(u.failed, oldest)
		}
	}
	u.failed[url] = failedURL{at: now, err: be}
	b.log.Info("an unlisted server failed its first token; not retried in the background", slog.String("server", url),
		slog.String("reason", string(be.Reason)), slog.String("error", be.Error()))
}

// promote registers a pending server that yielded a token, evicting the
// proven server unused for longest when MaxUnlistedServers are
// registered, and stores it. A server the configuration took over, or
// another entry registered meanwhile, makes the flight ask again.
func (b *Broker) promote(srv *server, key string) error {
	b.mu.Lock()
	if cur, ok := b.servers[srv.url]; ok || !b.cfg.AllowUnlisted || srv.removed {
		b.mu.Unlock()
		if cur == srv {
			return nil
		}
		return errStaleFlight
	}
	evicted, err := b.makeRoomLocked()
	if err != nil {
		b.mu.Unlock()
		return err
	}
	b.addServerLocked(srv)
	srv.pending.Store(false)
	b.publishLocked(srv, EventChanged, nil)
	b.mu.Unlock()
	b.forget(evicted)
	if err := b.persist(bucketServers, srv.url, serverRecord{V: recordVersion, URL: srv.url, ByUse: true}); err != nil {
		return newError(ReasonInternal, false, err, "cannot store the server")
	}
	b.log.Info("registered an unlisted server: it yielded a token", slog.String("server", srv.url))
	return nil
}

// makeRoomLocked makes room for one more unlisted server: when
// MaxUnlistedServers are registered, it evicts the one registered by use
// that was used longest ago and has no flight running. Servers added by
// hand are never evicted; when they fill the bound, nothing is.
func (b *Broker) makeRoomLocked() ([]string, error) {
	n := 0
	var victim *server
	for _, s := range b.servers {
		if s.origin != OriginUser {
			continue
		}
		n++
		if s.byUse && s.refreshing.Load() == 0 && (victim == nil || s.counters.lastUsed.Load() < victim.counters.lastUsed.Load()) {
			victim = s
		}
	}
	limit := b.maxUnlisted()
	if n < limit {
		return nil, nil
	}
	if victim == nil {
		return nil, newError(ReasonLimitExceeded, false, nil,
			"xaad already holds %d servers that are not in the configuration, the limit of unlisted servers registered, and none can be evicted (all were added by hand or are in use); remove one with `xaactl server rm`, or add the server to [[server]] in the configuration (xaad's limits: docs/limits.md)", limit)
	}
	b.removeServerLocked(victim)
	b.log.Info("evicted the unlisted server unused for longest, to make room for another", slog.String("server", victim.url), slog.Int("limit", limit))
	return []string{victim.url}, nil
}

// removeServerLocked forgets s as `xaactl server rm` does; the caller
// deletes its records with forget once it has dropped mu.
func (b *Broker) removeServerLocked(s *server) {
	s.removed = true
	delete(b.servers, s.url)
	b.queue.RemoveServer(s.url)
	b.publishLocked(s, EventRemoved, nil)
}

// forget deletes the stored records of the servers urls.
func (b *Broker) forget(urls []string) {
	for _, url := range urls {
		b.unpersist(bucketServers, url)
		b.unpersistPrefix(bucketTokens, url+"\x00")
	}
}

func (b *Broker) maxUnlisted() int {
	if b.cfg.MaxUnlistedServers > 0 {
		return b.cfg.MaxUnlistedServers
	}
	return MaxUnlistedServers
}

// assertionMetadata is the metadata an Assertion for srv needs. For a
// pending server its discovery is bounded as firstMint's; an ID-JAG is no
// token the server accepted, so the server stays unregistered.
func (b *Broker) assertionMetadata(ctx context.Context, srv *server) (*metadata, error) {
	if !srv.pending.Load() {
		return b.metadata(ctx, srv, false)
	}
	gen := b.gen.Load()
	ctx, done, err := b.unlistedFlight(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	m, err := b.metadata(ctx, srv, false)
	if err != nil {
		b.unlistedFailed(srv.url, err, gen)
	}
	return m, err
}

// forgetFailures lets every failed unlisted URL be tried at once: a
// sign-in or a configuration changed what the failures depended on.
func (u *unlistedSet) forgetFailures() {
	u.mu.Lock()
	defer u.mu.Unlock()
	clear(u.failed)
}

// legacyLocked settles the servers of records from before by_use and
// added: each that holds no token is taken for one registered on first
// use, as every URL asked for once was (3,000 junk URLs made 3,000
// records), so it may be evicted; then servers beyond
// MaxUnlistedServers are evicted. It returns the URLs whose records go.
func (b *Broker) legacyLocked(urls []string) []string {
	for _, url := range urls {
		if s := b.servers[url]; s != nil && len(s.tokens) == 0 {
			s.byUse = true
		}
	}
	var gone []string
	for {
		n := 0
		for _, s := range b.servers {
			if s.origin == OriginUser {
				n++
			}
		}
		if n <= b.maxUnlisted() {
			return gone
		}
		evicted, err := b.makeRoomLocked()
		if err != nil || len(evicted) == 0 {
			return gone
		}
		gone = append(gone, evicted...)
	}
}

// PendingServers describes the unlisted URLs whose first token is being
// fetched or waits for an unlisted slot, sorted by URL. They are not
// registered until that token is obtained, so [Broker.Servers] leaves
// them out; Status lists them, so that a first fetch that takes its time
// is not invisible. One waiting for a slot shows as discovering, which it
// does next.
func (b *Broker) PendingServers() []ServerInfo {
	u := b.unlisted
	u.mu.Lock()
	pending := make([]*server, 0, len(u.pending))
	for _, p := range u.pending {
		pending = append(pending, p.srv)
	}
	u.mu.Unlock()
	// u.mu comes before b.mu (unlistedServer), so not both at once here.
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]ServerInfo, 0, len(pending))
	for _, s := range pending {
		if _, ok := b.servers[s.url]; ok {
			continue // registered since: Servers lists it
		}
		info := b.serverInfoLocked(s)
		if info.State == ServerIdle {
			info.State = ServerDiscovering
		}
		out = append(out, info)
	}
	sortByURL(out)
	return out
}
