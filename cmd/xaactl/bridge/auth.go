package bridge

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/httpreplay"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// newAuthTransport is the proxy's HTTP transport: [client.Transport] puts
// xaad's tokens on every request and answers 401 (one forced refresh, one
// retry) and 403 insufficient_scope (a step-up to the union of scopes, one
// retry; docs/protocol.md §4.3), with a short token cache in front of the
// daemon; noTokenNeeded lets a server without OAuth work too.
func newAuthTransport(base http.RoundTripper, cfg Config, log *slog.Logger) http.RoundTripper {
	tokens := &tokenCache{inner: cfg.Tokens, clk: clock.OrSystem(cfg.Clock)}
	// The cache hands out tokens without proofs: the daemon signs one for
	// each request of a DPoP-bound token.
	signer, _ := cfg.Tokens.(client.ProofSigner)
	return &noTokenNeeded{
		base: base,
		auth: &client.Transport{
			Base: base, Source: tokens, Signer: signer, Now: tokens.clk.Now, Resource: cfg.Endpoint, Scopes: cfg.Scopes, StepUp: true,
			OnStepUp: func(scopes []string) {
				log.Info("the MCP server wants more scopes; getting a new token", "scopes", strings.Join(scopes, " "))
			},
		},
	}
}

// noTokenNeeded sends a request without a token when the daemon found no
// OAuth protection to get one for (DISCOVERY_FAILED: no protected-resource
// metadata), because such a server may need none. If the server answers
// 401 after all, the daemon's error is the answer: it says what is wrong.
// Other refusals (signed out, not allowed, daemon down) never reach the
// server.
type noTokenNeeded struct {
	base http.RoundTripper
	auth *client.Transport
}

func (n *noTokenNeeded) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.auth.RoundTrip(req)
	if err == nil || !noOAuth(err) {
		return resp, err
	}
	retry, rerr := httpreplay.Clone(req)
	if rerr != nil {
		return nil, err
	}
	resp, rerr = n.base.RoundTrip(retry)
	if rerr != nil {
		return nil, rerr
	}
	if resp.StatusCode == http.StatusUnauthorized {
		httpreplay.Drain(resp)
		return nil, err
	}
	return resp, nil
}

// noOAuth reports whether err is the daemon finding no OAuth protection
// (no protected-resource metadata) at the server.
func noOAuth(err error) bool {
	return client.ReasonOf(err) == xaadv1.Reason_REASON_DISCOVERY_FAILED
}

// tokenCache reuses a token for a few seconds. A busy session sends many
// messages a second; asking the daemon for each adds a round trip to
// another process to every one. The daemon stays the authority: a logout,
// a sign-in as someone else or a policy change reaches the proxy within
// cacheFor. A "no OAuth here" answer is kept as long, so a server without
// OAuth does not cost a discovery per message.
type tokenCache struct {
	inner client.TokenProvider
	clk   clock.Clock

	mu    sync.Mutex
	cache map[string]cachedToken // by requested scope set
}

type cachedToken struct {
	tok     *client.Token
	err     error // a DISCOVERY_FAILED answer
	fetched time.Time
}

// cacheFor bounds the reuse; cacheMargin: a token this close to expiry is
// never reused. maxCached bounds the map (one entry per scope set asked
// for; a step-up adds one).
const (
	cacheFor    = 5 * time.Second
	cacheMargin = time.Minute
	maxCached   = 16
)

func (r *tokenCache) GetToken(ctx context.Context, req client.TokenRequest) (*client.Token, error) {
	key := strings.Join(req.Scopes, " ")
	if !req.ForceRefresh {
		if tok, err, ok := r.cached(key, req.MinValidFor); ok {
			return tok, err
		}
	}
	tok, err := r.inner.GetToken(ctx, req)
	if err == nil || noOAuth(err) {
		kept := tok
		if tok != nil && tok.DPoPProof != "" {
			c := *tok
			c.DPoPProof = "" // a proof is good for one request only
			kept = &c
		}
		r.store(key, cachedToken{tok: kept, err: err, fetched: r.clk.Now()})
	}
	return tok, err
}

func (r *tokenCache) cached(key string, minValid time.Duration) (*client.Token, error, bool) {
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	now := r.clk.Now()
	// A negative age means the wall clock stepped back: refetch rather
	// than trust the entry for longer than intended.
	if age := now.Sub(c.fetched); age < 0 || age >= cacheFor {
		return nil, nil, false
	}
	if c.err != nil {
		return nil, c.err, true
	}
	if c.tok.Expiry.Sub(now) <= cacheMargin+minValid { // an unknown (zero) expiry too
		return nil, nil, false
	}
	return c.tok, nil, true
}

func (r *tokenCache) store(key string, c cachedToken) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil || len(r.cache) >= maxCached {
		r.cache = map[string]cachedToken{}
	}
	r.cache[key] = c
}
