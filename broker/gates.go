package broker

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// UpstreamKind says what an upstream token endpoint is.
type UpstreamKind int

// Upstream kinds.
const (
	// UpstreamIdP is the IdP's token endpoint: token exchanges, ID token
	// refreshes, sign-in grants.
	UpstreamIdP UpstreamKind = iota + 1
	// UpstreamAuthServer is an MCP authorization server's token endpoint:
	// jwt-bearer grants.
	UpstreamAuthServer
)

func (k UpstreamKind) String() string {
	switch k {
	case UpstreamIdP:
		return "IdP"
	case UpstreamAuthServer:
		return "authorization server"
	}
	return "other"
}

// maxGates bounds the gates kept, one per token endpoint URL: a daemon
// talks to one IdP and a handful of authorization servers. Beyond it, a
// quiet gate is dropped; when none is quiet, the endpoints that found no
// room share one overflow gate, so the bound never lifts the limit.
const maxGates = 256

// UpstreamInfo is the client-side rate limit of one upstream token
// endpoint at one moment, for status.
type UpstreamInfo struct {
	Kind UpstreamKind
	// URL is the token endpoint; empty for the overflow gate.
	URL string
	// Issuer is the IdP's or the authorization server's issuer.
	Issuer string
	// Setting names the configuration keys that set the limit.
	Setting string
	upstream.Snapshot
}

// gate is one endpoint's [upstream.Gate] and what status and errors say
// about it.
type gate struct {
	*upstream.Gate
	kind    UpstreamKind
	url     string
	issuer  string
	setting string
	// used is when the gate was last handed out, so the least recently
	// used quiet gate goes first when the set is full. used, setting and
	// clipLogged are guarded by the gateSet's mu.
	used time.Time
	// clipLogged is the end of the clipped hold already logged: one line
	// per hold, however many answers repeat it.
	clipLogged time.Time
}

// gateSet holds the gates by token endpoint URL. Its lock is taken
// without the broker's mu held.
type gateSet struct {
	mu       sync.Mutex
	byURL    map[string]*gate
	overflow *gate
}

// gateFor returns the gate of the token endpoint url of an upstream of
// kind, making it on first use with the limit the configuration sets.
func (b *Broker) gateFor(kind UpstreamKind, url, issuer string) *gate {
	limit, setting := b.limitFor(kind, issuer)
	s := &b.gates
	s.mu.Lock()
	defer s.mu.Unlock()
	now := b.now()
	if g := s.byURL[url]; g != nil {
		g.used = now
		return g
	}
	if len(s.byURL) >= maxGates && !s.dropQuietLocked() {
		if s.overflow == nil {
			s.overflow = b.newGate(UpstreamAuthServer, "", "", upstream.Limit{}, settingDefaultClient)
		}
		return s.overflow
	}
	if s.byURL == nil {
		s.byURL = map[string]*gate{}
	}
	g := b.newGate(kind, url, issuer, limit, setting)
	g.used = now
	s.byURL[url] = g
	return g
}

func (b *Broker) newGate(kind UpstreamKind, url, issuer string, l upstream.Limit, setting string) *gate {
	name := kind.String() + " token endpoint " + url
	if url == "" {
		name = fmt.Sprintf("token endpoints beyond the first %d", maxGates)
	}
	ug, err := upstream.New(upstream.Config{Name: name, Limit: l, Setting: setting, Clock: b.clock})
	if err != nil {
		// New and Reconfigure validated every limit; this one cannot fail.
		b.log.Error("invalid rate limit; using the default", slog.String("endpoint", url), slog.Any("error", err))
		ug, _ = upstream.New(upstream.Config{Name: name, Setting: setting, Clock: b.clock})
	}
	return &gate{Gate: ug, kind: kind, url: url, issuer: issuer, setting: setting}
}

// dropQuietLocked forgets the least recently used gate that holds nothing
// back: no waiter and no hold. Its bucket is forgotten with it, which
// costs at most one burst.
func (s *gateSet) dropQuietLocked() bool {
	var victim *gate
	for _, g := range s.byURL {
		snap := g.Snapshot()
		if snap.Held() || snap.Background > 0 {
			continue
		}
		if victim == nil || g.used.Before(victim.used) {
			victim = g
		}
	}
	if victim == nil {
		return false
	}
	delete(s.byURL, victim.url)
	return true
}

// applyLimits gives every gate the limit the configuration now sets, after
// a reload.
func (b *Broker) applyLimits() {
	s := &b.gates
	s.mu.Lock()
	list := make([]*gate, 0, len(s.byURL))
	for _, g := range s.byURL {
		list = append(list, g)
	}
	s.mu.Unlock()
	for _, g := range list {
		l, setting := b.limitFor(g.kind, g.issuer)
		if err := g.SetLimit(l); err != nil {
			b.log.Error("cannot change the rate limit", slog.String("endpoint", g.url), slog.Any("error", err))
		}
		s.mu.Lock()
		g.setting = setting
		s.mu.Unlock()
	}
}

// Upstreams describes the client-side rate limit of every upstream token
// endpoint the daemon has called, IdP first, then by URL.
func (b *Broker) Upstreams() []UpstreamInfo {
	s := &b.gates
	s.mu.Lock()
	list := make([]*gate, 0, len(s.byURL)+1)
	for _, g := range s.byURL {
		list = append(list, g)
	}
	if s.overflow != nil {
		list = append(list, s.overflow)
	}
	out := make([]UpstreamInfo, 0, len(list))
	for _, g := range list {
		out = append(out, UpstreamInfo{Kind: g.kind, URL: g.url, Issuer: g.issuer, Setting: g.setting})
	}
	s.mu.Unlock()
	for i, g := range list {
		out[i].Snapshot = g.Snapshot()
	}
	slices.SortFunc(out, func(a, b UpstreamInfo) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.URL, b.URL))
	})
	return out
}

// refuseEarly answers at once a caller whose deadline comes before a gate
// it needs would let it through (a server's pause, or the callers queued
// ahead of it), rather than letting it wait in vain, also when it would
// join a flight already waiting with a later deadline. It looks at the
// gates already made: the IdP's and the server's authorization server's.
func (b *Broker) refuseEarly(srv *server, deadline time.Time) error {
	if deadline.IsZero() {
		return nil
	}
	for _, g := range b.gatesOf(srv) {
		snap := g.Snapshot()
		if snap.NextCaller.Before(deadline) {
			continue
		}
		reason := upstream.ErrLimited
		if !snap.HeldUntil.IsZero() && !snap.HeldUntil.Before(deadline) {
			reason = upstream.ErrHeld
		}
		b.gates.mu.Lock()
		setting := g.setting
		b.gates.mu.Unlock()
		return notSent(&upstream.WaitError{Name: snap.Name, Priority: upstream.Caller, Until: snap.NextCaller,
			Deadline: deadline, Hold: snap.Hold, Setting: setting, Reason: reason})
	}
	return nil
}

// gatesOf returns the existing gates a token of srv goes through.
func (b *Broker) gatesOf(srv *server) []*gate {
	b.mu.RLock()
	urls := []string{b.cfg.IdP.TokenEndpoint}
	if urls[0] == "" && b.idpMeta != nil {
		urls[0] = b.idpMeta.TokenEndpoint
	}
	if srv.meta != nil {
		urls = append(urls, srv.meta.as.TokenEndpoint)
	}
	b.mu.RUnlock()
	s := &b.gates
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*gate
	for _, u := range urls {
		if g := s.byURL[u]; g != nil && u != "" {
			out = append(out, g)
		}
	}
	return out
}
