package testbed

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// dpopState is the DPoP side of the three servers; nil when DPoP is off.
type dpopState struct {
	opts DPoPOptions
	at   map[Endpoint]*dpopServer // EndpointIdPToken, EndpointASToken, EndpointMCP
}

func newDPoPState(tb *Testbed) *dpopState {
	o := tb.opts.DPoP
	if !o.Enabled {
		return nil
	}
	s := &dpopState{opts: o, at: map[Endpoint]*dpopServer{}}
	for _, ep := range dpopNonceEndpoints {
		srv := &dpopServer{opts: o, algs: o.algs(), now: tb.opts.Now, replay: newJTICache(o.ReplayCacheSize)}
		if slices.Contains(o.RequireNonce, ep) {
			srv.nonce = &nonceIssuer{every: o.RotateNonceEvery}
			srv.nonce.rotate()
		}
		s.at[ep] = srv
	}
	return s
}

// server returns the DPoP verifier of ep, or nil when DPoP is off.
func (s *dpopState) server(ep Endpoint) *dpopServer {
	if s == nil {
		return nil
	}
	return s.at[ep]
}

// dpopServer verifies proofs sent to one endpoint, with that endpoint's
// nonce and replay memory.
type dpopServer struct {
	opts   DPoPOptions
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	replay *jtiCache
	nonce  *nonceIssuer // nil: this endpoint asks for no nonce

	mu    sync.Mutex
	stats DPoPCounts
}

// verify applies every rule of RFC 9449 §4.3 to the request's proof and
// returns the thumbprint of its key. The jti is consumed only when the
// proof passes every rule.
func (s *dpopServer) verify(r *http.Request, req proofRequest) (string, *proofError) {
	jkt, err := s.verifyProof(r, req)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.stats.Accepted++
	case err.rule == RuleNonce:
		s.stats.NonceChallenges++
	default:
		s.stats.Rejected++
	}
	return jkt, err
}

func (s *dpopServer) verifyProof(r *http.Request, req proofRequest) (string, *proofError) {
	// Item 1: one DPoP header field. A JWS has no comma, so a folded
	// "a, b" fails as a malformed JWT.
	vals := r.Header.Values("DPoP")
	if len(vals) != 1 {
		return "", proofErr(RuleOneHeader, "want exactly one DPoP header, got %d", len(vals))
	}
	p, err := parseDPoPProof(vals[0], s.algs)
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := p.checkAgainst(req, now, s.opts.IatWindow); err != nil {
		return "", err
	}
	// Item 10: the nonce this server handed out (RFC 9449 §8, §9).
	if s.nonce != nil && (p.claims.Nonce == nil || !s.nonce.valid(*p.claims.Nonce)) {
		return "", proofErr(RuleNonce, "the proof must carry the server's current nonce")
	}
	// RFC 9449 §11.1: a jti is used once per key while its iat is
	// acceptable.
	switch s.replay.use(p.jkt+" "+*p.claims.JTI, p.claims.IAT.Add(s.opts.IatWindow), now) {
	case jtiReplayed:
		return "", proofErr(RuleReplay, "jti already used with this key")
	case jtiFull:
		return "", proofErr(RuleReplay, "replay cache full (%d entries); refusing rather than forgetting", s.opts.ReplayCacheSize)
	}
	if s.nonce != nil {
		s.nonce.accepted()
	}
	return p.jkt, nil
}

// setNonceHeader sends the current nonce (RFC 9449 §8.2: with any
// response), when this endpoint uses nonces.
func (s *dpopServer) setNonceHeader(w http.ResponseWriter) {
	if s != nil && s.nonce != nil {
		w.Header().Set("DPoP-Nonce", s.nonce.get())
	}
}

// nonceIssuer holds an endpoint's current nonce. Only the current one is
// accepted: after a rotation the client must take the new one from the
// DPoP-Nonce header.
type nonceIssuer struct {
	every int

	mu      sync.Mutex
	current string
	uses    int
}

func (n *nonceIssuer) rotate() string {
	b := make([]byte, 16)
	rand.Read(b)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.current, n.uses = base64.RawURLEncoding.EncodeToString(b), 0
	return n.current
}

func (n *nonceIssuer) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.current
}

func (n *nonceIssuer) valid(s string) bool { return s == n.get() }

// accepted counts one accepted proof and rotates when the count is due.
func (n *nonceIssuer) accepted() {
	n.mu.Lock()
	n.uses++
	due := n.every > 0 && n.uses >= n.every
	n.mu.Unlock()
	if due {
		n.rotate()
	}
}

type jtiResult int

const (
	jtiFresh jtiResult = iota
	jtiReplayed
	jtiFull
)

// jtiCache remembers used proof identifiers until their proofs expire. It
// is bounded: full of live entries, it refuses new ones, because forgetting
// a live jti would let its proof be replayed.
type jtiCache struct {
	max int

	mu   sync.Mutex
	seen map[string]time.Time
}

func newJTICache(max int) *jtiCache { return &jtiCache{max: max, seen: map[string]time.Time{}} }

func (c *jtiCache) use(key string, until, now time.Time) jtiResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[key]; ok && !now.After(t) {
		return jtiReplayed
	}
	if len(c.seen) >= c.max {
		for k, t := range c.seen {
			if now.After(t) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return jtiFull
		}
	}
	c.seen[key] = until
	return jtiFresh
}

// DPoPCounts is what one endpoint's DPoP verifier has seen.
type DPoPCounts struct {
	// Accepted counts proofs that passed every rule.
	Accepted int
	// Rejected counts proofs refused as invalid_dpop_proof.
	Rejected int
	// NonceChallenges counts proofs answered with use_dpop_nonce.
	NonceChallenges int
}

// DPoPCounters returns the DPoP counts of EndpointIdPToken,
// EndpointASToken and EndpointMCP; nil when DPoP is off.
func (tb *Testbed) DPoPCounters() map[Endpoint]DPoPCounts {
	if tb.dpop == nil {
		return nil
	}
	out := map[Endpoint]DPoPCounts{}
	for ep, s := range tb.dpop.at {
		s.mu.Lock()
		out[ep] = s.stats
		s.mu.Unlock()
	}
	return out
}

// DPoPNonce returns the nonce ep currently accepts, or "" when it requires
// none (or DPoP is off).
func (tb *Testbed) DPoPNonce(ep Endpoint) string {
	if s := tb.dpop.server(ep); s != nil && s.nonce != nil {
		return s.nonce.get()
	}
	return ""
}

// RotateDPoPNonce makes ep issue a new nonce and refuse the old one, and
// returns the new one; "" when ep requires no nonce.
func (tb *Testbed) RotateDPoPNonce(ep Endpoint) string {
	if s := tb.dpop.server(ep); s != nil && s.nonce != nil {
		return s.nonce.rotate()
	}
	return ""
}
