package client

import (
	"context"
	"time"
)

// Proofs signed ahead. A Source that caches tokens (the stdio bridge's)
// saves the daemon round trip for the token, but a DPoP-bound token still
// needs a proof per request from the daemon. So after each request that
// took its proof from the Signer, the Transport asks for the next one in
// the background, for the same method, URL and token and the nonce the
// server gave last; the next request like it takes that proof at once.
// Each proof is still signed by the daemon (and audited there), used once,
// and fresh: its iat is at most presignMaxAge old.

// presignMaxAge bounds the age of a proof signed ahead, far inside the
// iat window servers apply (RFC 9449 §11.1 leaves it to them; SEP-1932
// suggests five minutes).
const presignMaxAge = 30 * time.Second

// presignTimeout bounds one signing in the background.
const presignTimeout = 10 * time.Second

// proofKey is what a proof signed ahead must match to be used.
type proofKey struct{ token, method, url, nonce string }

// presigned is the one proof signed ahead, and whether a signing runs.
type presigned struct {
	key     proofKey
	proof   string
	at      time.Time
	running bool
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// signed returns a proof for d: the one signed ahead when it matches and
// is young enough (it is then gone), else one signed now.
func (t *Transport) signed(ctx context.Context, tok *Token, d *DPoPRequest) (string, error) {
	key := proofKey{tok.AccessToken, d.Method, d.URL, d.Nonce}
	t.mu.Lock()
	p := t.ahead
	if p.proof != "" && p.key == key {
		t.ahead.proof = "" // used once
		if age := t.now().Sub(p.at); age >= 0 && age < presignMaxAge {
			t.mu.Unlock()
			return p.proof, nil
		}
	}
	t.mu.Unlock()
	return t.sign(ctx, tok, d)
}

// signAhead starts signing the proof for the next request like req (with
// the nonce known now), unless a signing runs already.
func (t *Transport) signAhead(tok *Token, method, url string) {
	t.mu.Lock()
	if t.ahead.running {
		t.mu.Unlock()
		return
	}
	t.ahead.running = true
	d := DPoPRequest{Method: method, URL: url, Nonce: t.nonce}
	t.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), presignTimeout)
		defer cancel()
		proof, err := t.sign(ctx, tok, &d)
		t.mu.Lock()
		t.ahead.running = false
		if err == nil {
			t.ahead.key, t.ahead.proof, t.ahead.at = proofKey{tok.AccessToken, d.Method, d.URL, d.Nonce}, proof, t.now()
		}
		done := t.onAhead
		t.mu.Unlock()
		if done != nil {
			done()
		}
	}()
}
