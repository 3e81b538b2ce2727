package dpop

import (
	"container/list"
	"net/http"
	"sync"
)

// DefaultMaxNonces is how many server origins a [Nonces] remembers unless
// told otherwise; a daemon talks to a handful.
const DefaultMaxNonces = 256

// maxNonceLen bounds a nonce taken from a server; RFC 9449 sets no limit,
// and real servers send a few dozen bytes.
const maxNonceLen = 1024

// NonceHeader is the response header a server sends its nonce in (RFC 9449
// §8, §9).
const NonceHeader = "DPoP-Nonce"

// Nonces remembers the last DPoP-Nonce each server origin sent, for the
// next proof to that server (RFC 9449 §8.2: a server may hand out a new
// nonce with any response, and the client uses it until told otherwise).
// It holds at most its bound of origins and forgets the least recently used
// first. The zero value is ready to use with [DefaultMaxNonces]; it is safe
// for concurrent use.
type Nonces struct {
	max int

	mu    sync.Mutex
	order *list.List // of *nonceEntry, most recently used first
	byKey map[string]*list.Element
}

type nonceEntry struct{ origin, nonce string }

// NewNonces returns a memory for at most max origins; max <= 0 means
// [DefaultMaxNonces].
func NewNonces(max int) *Nonces { return &Nonces{max: max} }

func (n *Nonces) initLocked() {
	if n.order == nil {
		n.order, n.byKey = list.New(), map[string]*list.Element{}
	}
	if n.max <= 0 {
		n.max = DefaultMaxNonces
	}
}

// Get returns the nonce to put in the next proof for target's origin, or
// "" when that server sent none (or target is not an http(s) URI).
func (n *Nonces) Get(target string) string {
	origin, err := Origin(target)
	if err != nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.initLocked()
	e, ok := n.byKey[origin]
	if !ok {
		return ""
	}
	n.order.MoveToFront(e)
	return e.Value.(*nonceEntry).nonce
}

// Set remembers nonce for target's origin, replacing the one before. It
// reports false, and remembers nothing, when target is not an http(s) URI
// or nonce is not a valid DPoP-Nonce value (RFC 9449 §8.1).
func (n *Nonces) Set(target, nonce string) bool {
	origin, err := Origin(target)
	if err != nil || !validNonce(nonce) {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.initLocked()
	if e, ok := n.byKey[origin]; ok {
		e.Value.(*nonceEntry).nonce = nonce
		n.order.MoveToFront(e)
		return true
	}
	n.byKey[origin] = n.order.PushFront(&nonceEntry{origin: origin, nonce: nonce})
	for n.order.Len() > n.max {
		oldest := n.order.Back()
		n.order.Remove(oldest)
		delete(n.byKey, oldest.Value.(*nonceEntry).origin)
	}
	return true
}

// Observe remembers the DPoP-Nonce of a response from target, if it has a
// valid one, and reports whether it did. Call it on every response from a
// DPoP server, successful or not.
func (n *Nonces) Observe(target string, h http.Header) bool {
	nonce, ok := ParseNonce(h)
	return ok && n.Set(target, nonce)
}

// Forget drops what is remembered for target's origin.
func (n *Nonces) Forget(target string) {
	origin, err := Origin(target)
	if err != nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.initLocked()
	if e, ok := n.byKey[origin]; ok {
		n.order.Remove(e)
		delete(n.byKey, origin)
	}
}

// Len returns how many origins are remembered.
func (n *Nonces) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.initLocked()
	return n.order.Len()
}

// ParseNonce returns the DPoP-Nonce of a response. A missing, repeated or
// malformed header yields false: a client must not guess which of two
// nonces a server meant.
func ParseNonce(h http.Header) (string, bool) {
	vs := h.Values(NonceHeader)
	if len(vs) != 1 || !validNonce(vs[0]) {
		return "", false
	}
	return vs[0], true
}

// validNonce checks RFC 9449 §8.1: nonce = 1*NQCHAR, NQCHAR = %x21 /
// %x23-5B / %x5D-7E (visible ASCII without '"' and '\'), and our bound.
func validNonce(s string) bool {
	if s == "" || len(s) > maxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
