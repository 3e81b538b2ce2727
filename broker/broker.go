package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/broker/idtoken"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/internal/clock"
)

// Broker holds the enterprise identity and the tokens of every MCP server.
// Create one with [New], then call [Broker.Load] and [Broker.Run].
type Broker struct {
	// cfg's IdP, AuthServers, DefaultClient and AllowUnlisted, and
	// verifier, are swapped by Reconfigure: read them under mu.
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	disc  *discovery.Client
	// nonces remembers the DPoP-Nonce of each token endpoint (RFC 9449 §8).
	nonces   *dpop.Nonces
	verifier *idtoken.Verifier
	flights  singleflight.Group
	spares   spares
	// queue plans the background refresh of every access token. It has
	// its own lock, taken after mu, so it changes in the same critical
	// section as the tokens it plans for.
	queue *schedule.Queue
	// gen counts identity changes (logout, another person, another IdP).
	// A refresh or spare begun under an older generation is discarded, so
	// nothing minted for one sign-in outlives it.
	gen atomic.Uint64
	// renewing is set while the ID token is being refreshed (Status shows
	// REFRESHING).
	renewing atomic.Bool
	// idTurns counts the ID token loop's turns; idSleepCap caps its
	// sleeps (idMaxSleep; tests may lift it).
	idTurns    atomic.Uint64
	idSleepCap time.Duration
	// expiryWake nudges the expiry watch when a token is stored (expiry.go).
	expiryWake     chan struct{}
	expiryWakeOnce sync.Once
	// root is the parent of every upstream flight; Close cancels it after
	// waiting for flightsWG, so a stopping daemon does not close the store
	// under a refresh that is about to write.
	root       context.Context
	rootCancel context.CancelFunc
	flightsWG  sync.WaitGroup
	closeMu    sync.RWMutex
	closed     bool
	// signin is the enterprise sign-in: logins, ID token refresh, NEEDS_LOGIN.
	signin signinState
	// gates rate-limit the upstream token endpoints; plans say at whose
	// priority each flight waits at them (gates.go, flightplan.go).
	gates gateSet
	plans flightPlans
	// unlisted holds the unlisted URLs not registered yet (unlisted.go).
	unlisted *unlistedSet

	// mu guards the fields below. Upstream calls never run under it.
	mu         sync.RWMutex
	ident      *identityRecord
	servers    map[string]*server
	subs       map[*Subscription]struct{}
	idpMeta    *discovery.AuthServer
	idpFetched time.Time
	// prompt is what browser sign-ins learnt the IdP needs (consent.go).
	prompt *promptRecord
}

// server is the in-memory state of one MCP server.
type server struct {
	url      string
	scopes   []string
	keepWarm bool
	// idleAfter is the server's idle_after (schedule.Policy); zero: the
	// broker's.
	idleAfter time.Duration
	origin    Origin
	// dpop is the server's own DPoP policy ("" when it has none).
	dpop DPoPPolicy

	meta *metadata
	// rediscover, when set, makes the next metadata lookup read the
	// server's metadata again, with the caller's hints (migrate.go).
	rediscover *Challenge
	tokens     map[string]*Token // by scopeKey of the requested scopes
	// retired are DPoP-bound tokens refreshes replaced, still valid and
	// signable (retireLocked).
	retired []*Token
	// removed is set when the server is forgotten, so a refresh in flight
	// does not bring its token back.
	removed bool
	// scopeGen counts changes of scopes by Reconfigure. A refresh of the
	// default scope set begun under an older count asked for the old set,
	// so its token is dropped rather than served under the new rules.
	scopeGen  uint64
	lastErr   *Error
	lastRefAt time.Time
	counters  serverCounters
	// refreshing and discovering count the flights of this server that
	// are running, and those of them in metadata discovery (Status shows
	// REFRESHING and DISCOVERING).
	refreshing, discovering atomic.Int32
	// published is the state watchers last heard of (see publishLocked),
	// publishedValid whether it had a valid token (expiry.go).
	published      ServerState
	publishedValid bool
	// pending is set while an unlisted server is not registered: its
	// first token is being fetched (unlisted.go). byUse marks an unlisted
	// server registered because it yielded a token, which may be evicted,
	// unlike one added by hand.
	pending atomic.Bool
	byUse   bool
}

// serverCounters are atomic so the cache-hit path needs only a read lock.
type serverCounters struct {
	requests, refreshes, failures, cacheHits atomic.Uint64
	exchanges, grants, assertions            atomic.Uint64
	lastUsed                                 atomic.Int64 // unix ns of the last request
}

func (c *serverCounters) snapshot() Counters {
	return Counters{
		Requests: c.requests.Load(), Refreshes: c.refreshes.Load(), Failures: c.failures.Load(), CacheHits: c.cacheHits.Load(),
		TokenExchanges: c.exchanges.Load(), JWTBearerGrants: c.grants.Load(), AssertionsServed: c.assertions.Load(),
	}
}

func (c *serverCounters) lastUsedAt() time.Time {
	if v := c.lastUsed.Load(); v != 0 {
		return time.Unix(0, v)
	}
	return time.Time{}
}

type metadata struct {
	resource *discovery.Resource
	as       *discovery.AuthServer
	fetched  time.Time
}

// New checks cfg and returns a broker with nothing loaded yet.
func New(cfg Config) (*Broker, error) {
	if cfg.IdP.Issuer == "" {
		return nil, errors.New("broker: the IdP issuer is not configured")
	}
	if _, err := httpx.CheckURL(cfg.IdP.Issuer); err != nil {
		return nil, fmt.Errorf("broker: IdP issuer: %w", err)
	}
	if cfg.IdP.TokenEndpoint != "" {
		if _, err := httpx.CheckURL(cfg.IdP.TokenEndpoint); err != nil {
			return nil, fmt.Errorf("broker: IdP token endpoint: %w", err)
		}
	}
	if err := cfg.IdP.Auth.Validate(); err != nil {
		return nil, fmt.Errorf("broker: IdP client: %w", err)
	}
	for iss, a := range cfg.AuthServers {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("broker: client at %s: %w", iss, err)
		}
	}
	if cfg.DefaultClient != nil {
		if err := cfg.DefaultClient.Validate(); err != nil {
			return nil, fmt.Errorf("broker: default client: %w", err)
		}
	}
	if err := cfg.checkPolicies(); err != nil {
		return nil, err
	}
	if err := cfg.Limits.validate(); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = defaultHTTPClient()
	}
	b := &Broker{
		cfg:      cfg,
		log:      cfg.Logger,
		clock:    clock.OrSystem(cfg.Clock),
		servers:  make(map[string]*server),
		nonces:   dpop.NewNonces(0),
		unlisted: newUnlistedSet(),

		idSleepCap: idMaxSleep,
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.disc = &discovery.Client{HTTP: cfg.HTTP, Timeout: cfg.timeout()}
	b.queue = schedule.New(schedule.Config{
		Clock: b.clock, Rand: b.rand, IdleAfter: cfg.IdleAfter, Logger: b.log,
	})
	b.root, b.rootCancel = context.WithCancel(context.Background())
	b.verifier = &idtoken.Verifier{Issuer: cfg.IdP.Issuer, ClientID: cfg.IdP.Auth.ClientID, HTTP: cfg.HTTP, Now: b.clock.Now}
	for _, sc := range cfg.Servers {
		if _, err := httpx.CheckURL(sc.URL); err != nil {
			return nil, fmt.Errorf("broker: server: %w", err)
		}
		if sc.IdleAfter < 0 {
			return nil, fmt.Errorf("broker: server %s: idle_after is negative", sc.URL)
		}
		b.addServerLocked(&server{url: sc.URL, scopes: normScopes(sc.Scopes), keepWarm: sc.KeepWarm, idleAfter: sc.IdleAfter, origin: OriginConfig, dpop: sc.DPoP, tokens: map[string]*Token{}})
	}
	return b, nil
}

// now is the broker's wall time, for every expiry.
func (b *Broker) now() time.Time { return b.clock.Now() }

// Load reads the identity, user-added servers and cached tokens from the
// store. Records that no longer apply (expired tokens, servers the
// configuration no longer allows) are dropped.
func (b *Broker) Load(ctx context.Context) error {
	if b.cfg.Store == nil {
		return nil
	}
	return b.load()
}

func (b *Broker) timeoutCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	// One flight makes at most about six upstream calls.
	return context.WithTimeout(ctx, 6*b.cfg.timeout())
}

// Close waits up to the end of ctx for upstream flights in progress (so
// their results are stored), then cancels the rest and waits for them to
// return, and stores when each token was last used (lastused.go). Call it
// before closing the store.
func (b *Broker) Close(ctx context.Context) {
	// No flight may start once Wait may have begun (WaitGroup rule).
	b.closeMu.Lock()
	b.closed = true
	b.closeMu.Unlock()
	done := make(chan struct{})
	go func() { b.flightsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.rootCancel()
		<-done
	}
	b.rootCancel()
	b.keepLastUsed()
}

// errClosed is returned by flights started after Close.
var errClosed = newError(ReasonUpstreamUnavailable, false, nil, "xaad is stopping")

// startFlight counts a flight for Close, or reports that Close has begun.
func (b *Broker) startFlight() bool {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return false
	}
	b.flightsWG.Add(1)
	return true
}

// flight runs f on a context derived from the broker's root, bounded by
// the flight timeout and counted for Close.
func (b *Broker) flight(f func(ctx context.Context) (any, error)) (any, error) {
	if !b.startFlight() {
		return nil, errClosed
	}
	defer b.flightsWG.Done()
	ctx, cancel := b.timeoutCtx(b.root)
	defer cancel()
	return f(ctx)
}

// rand draws the jitter; Config.Rand makes it reproducible in tests.
func (b *Broker) rand() float64 {
	if b.cfg.Rand != nil {
		return b.cfg.Rand()
	}
	return rand.Float64()
}

// addServerLocked registers s and its refresh rule.
func (b *Broker) addServerLocked(s *server) {
	b.servers[s.url] = s
	b.queue.SetServer(s.url, s.policy())
}

// policy is s's background refresh rule.
func (s *server) policy() schedule.Policy {
	return schedule.Policy{KeepWarm: s.keepWarm, IdleAfter: s.idleAfter}
}
