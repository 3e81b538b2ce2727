package broker

import (
	"crypto/subtle"
	"slices"
	"time"

	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/broker/grant"
)

// ProofRequest asks for a DPoP proof for one request to an MCP server
// (RFC 9449 §7): like an ssh-agent, the broker signs and the key stays.
type ProofRequest struct {
	// ServerURL is the MCP server, as for Token.
	ServerURL string
	// AccessToken is the DPoP-bound token the request carries, as Token
	// returned it; the proof's ath is its hash.
	AccessToken string
	// Method and URL are the request's; URL must be on ServerURL's origin.
	Method string
	URL    string
	// Nonce is the server's last DPoP-Nonce, if it sent one (RFC 9449 §9).
	Nonce string
}

// maxRetired bounds the replaced tokens of a server that still get
// proofs: a client holding one it fetched just before a refresh keeps
// working until it asks again.
const maxRetired = 4

// Proof signs a DPoP proof for req with the identity's key. iat and jti
// are the broker's own (the clock's time, fresh randomness), ath is the
// hash of req.AccessToken, and only a proof for the origin of a known
// server, carrying a DPoP-bound token the broker issued for that server
// with the current key and that has not expired, is signed: the key signs
// nothing else.
func (b *Broker) Proof(req ProofRequest) (string, error) {
	want, err := dpop.Origin(req.ServerURL)
	if err != nil {
		return "", newError(ReasonInvalidArgument, true, err, "bad MCP server URL")
	}
	if got, err := dpop.Origin(req.URL); err != nil || got != want {
		return "", newError(ReasonInvalidArgument, true, err,
			"the request URL is not on the origin of %s; xaad signs DPoP proofs only for the server the token is for", req.ServerURL)
	}
	b.mu.RLock()
	srv, ok := b.servers[req.ServerURL]
	key := b.dpopKeyLocked()
	var t *Token
	if ok {
		t = srv.heldLocked(req.AccessToken, b.now())
	}
	b.mu.RUnlock()
	switch {
	case !ok:
		return "", newError(ReasonNotFound, true, nil, "%s is not a known server; get a token for it first", req.ServerURL)
	case key == nil:
		return "", newError(ReasonLoginRequired, true, errNoDPoPKey, "not signed in; run `xaactl login`")
	case t == nil:
		return "", newError(ReasonInvalidArgument, true, nil, "the access token is not a valid token xaad holds for %s; get a new one with GetToken", req.ServerURL)
	case t.Type != grant.TokenTypeDPoP:
		return "", newError(ReasonInvalidArgument, true, nil, "the token of %s is a bearer token; it is sent without a proof", req.ServerURL)
	case t.JKT != key.Thumbprint():
		return "", newError(ReasonInvalidArgument, true, nil, "the token of %s is bound to an earlier sign-in's key; get a new one with GetToken", req.ServerURL)
	}
	proof, err := key.Proof(b.clock, dpop.Request{Method: req.Method, URL: req.URL, AccessToken: req.AccessToken, Nonce: req.Nonce})
	if err != nil {
		return "", newError(ReasonInvalidArgument, true, err, "cannot sign a DPoP proof for this request")
	}
	return proof, nil
}

// heldLocked returns the unexpired token of s, current or recently
// replaced, whose secret is tok.
func (s *server) heldLocked(tok string, now time.Time) *Token {
	match := func(t *Token) bool {
		return t != nil && t.ExpiresAt.After(now) && subtle.ConstantTimeCompare([]byte(t.AccessToken), []byte(tok)) == 1
	}
	for _, t := range s.tokens {
		if match(t) {
			return t
		}
	}
	for _, t := range s.retired {
		if match(t) {
			return t
		}
	}
	return nil
}

// retireLocked keeps old, a DPoP-bound token a refresh replaces, signable
// until it expires; the oldest go first past maxRetired.
func (s *server) retireLocked(old *Token, now time.Time) {
	if old == nil || old.Type != grant.TokenTypeDPoP {
		return
	}
	kept := s.retired[:0]
	for _, t := range s.retired {
		if t.ExpiresAt.After(now) {
			kept = append(kept, t)
		}
	}
	kept = append(kept, old)
	if len(kept) > maxRetired {
		kept = slices.Clone(kept[len(kept)-maxRetired:])
	}
	s.retired = kept
}
