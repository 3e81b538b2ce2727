package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/xaad-dev/xaad/internal/httpreplay"
	"github.com/xaad-dev/xaad/internal/wwwauth"
)

// DPoP in [Transport]: a DPoP-bound token (RFC 9449 §7) goes out as
// "Authorization: DPoP <token>" with a new proof on every request, signed
// by the daemon. The server's last DPoP-Nonce is put into the next proof
// (§9), and a 401 use_dpop_nonce is answered with one retry carrying the
// new nonce: the token is fine, so no refresh is forced.

// attempt sends req with tok and, when the server answers 401
// use_dpop_nonce, once more with a proof carrying its new nonce.
// nonceRefused reports a response that is still such a challenge.
func (t *Transport) attempt(req *http.Request, tok *Token) (resp *http.Response, nonceRefused bool, err error) {
	r, err := t.authorize(req, tok, tok.DPoPProof)
	if err != nil {
		return nil, false, err
	}
	if resp, err = t.base().RoundTrip(r); err != nil {
		return nil, false, err
	}
	nonce, challenged := t.observe(resp)
	if tok.IsDPoP() && tok.DPoPProof == "" {
		// The Source caches tokens: the next proof comes from the Signer.
		t.signAhead(tok, req.Method, req.URL.String())
	}
	if !challenged || !tok.IsDPoP() || !httpreplay.CanReplay(req) {
		return resp, challenged, nil
	}
	// RFC 9449 §9: the token is good; the proof lacked the nonce.
	proof, err := t.sign(req.Context(), tok, &DPoPRequest{Method: req.Method, URL: req.URL.String(), Nonce: nonce})
	if err != nil {
		httpreplay.Drain(resp)
		return nil, false, err
	}
	retry, err := httpreplay.Clone(req)
	if err != nil {
		httpreplay.Drain(resp)
		return nil, false, fmt.Errorf("replay request body: %w", err)
	}
	httpreplay.Drain(resp)
	if r, err = t.authorize(retry, tok, proof); err != nil {
		return nil, false, err
	}
	if resp, err = t.base().RoundTrip(r); err != nil {
		return nil, false, err
	}
	_, challenged = t.observe(resp)
	return resp, challenged, nil
}

// dpopRequest names req for a proof, with the nonce the server gave last.
func (t *Transport) dpopRequest(req *http.Request) *DPoPRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &DPoPRequest{Method: req.Method, URL: req.URL.String(), Nonce: t.nonce}
}

// authorize returns a copy of req carrying tok: for a DPoP token with
// proof, or a new one from the signer when proof is empty (a caching
// Source hands out tokens without one). On error it closes req's body, as
// a RoundTripper must.
func (t *Transport) authorize(req *http.Request, tok *Token, proof string) (*http.Request, error) {
	r := authorized(req, tok)
	if !tok.IsDPoP() {
		return r, nil
	}
	if proof == "" {
		var err error
		if proof, err = t.signed(req.Context(), tok, t.dpopRequest(req)); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	r.Header.Set("Authorization", TokenTypeDPoP+" "+tok.AccessToken)
	r.Header.Set("DPoP", proof)
	return r, nil
}

func (t *Transport) sign(ctx context.Context, tok *Token, d *DPoPRequest) (string, error) {
	s := t.Signer
	if s == nil {
		s, _ = t.Source.(ProofSigner)
	}
	if s == nil {
		return "", errors.New("client.Transport: the token is DPoP-bound and there is no Signer for its proofs; set Transport.Signer to the *Client")
	}
	proof, err := s.SignProof(ctx, SignProofRequest{Resource: t.Resource, AccessToken: tok.AccessToken, Request: *d})
	if err != nil {
		return "", fmt.Errorf("sign a DPoP proof for %s: %w", t.Resource, err)
	}
	return proof, nil
}

// observe keeps the DPoP-Nonce of a response for the next proof (RFC 9449
// §8.2: a server may send a new one with any response) and reports the
// nonce of a use_dpop_nonce challenge (§9), if resp is one.
func (t *Transport) observe(resp *http.Response) (challenge string, ok bool) {
	nonce, valid := responseNonce(resp.Header)
	if !valid {
		return "", false
	}
	t.mu.Lock()
	t.nonce = nonce
	t.mu.Unlock()
	if resp.StatusCode != http.StatusUnauthorized || !useDPoPNonce(resp.Header.Values("WWW-Authenticate")) {
		return "", false
	}
	return nonce, true
}

// responseNonce returns the one DPoP-Nonce of h. RFC 9449 §8.1: nonce =
// 1*NQCHAR, visible ASCII but '"' and '\'; two values or a bad one count as
// none. The length bound is ours.
func responseNonce(h http.Header) (string, bool) {
	vs := h.Values("DPoP-Nonce")
	if len(vs) != 1 || vs[0] == "" || len(vs[0]) > 1024 {
		return "", false
	}
	for _, c := range []byte(vs[0]) {
		if c < '!' || c > '~' || c == '"' || c == '\\' {
			return "", false
		}
	}
	return vs[0], true
}

// useDPoPNonce reports whether the WWW-Authenticate lines hold a DPoP
// challenge with error="use_dpop_nonce" (RFC 9449 §9). A header that does
// not follow RFC 9110 §11.6.1 holds none.
func useDPoPNonce(lines []string) bool {
	chs, ok := wwwauth.ParseAll(lines)
	if !ok {
		return false
	}
	for _, ch := range chs {
		if ch.Scheme == "dpop" && ch.Params["error"] == "use_dpop_nonce" {
			return true
		}
	}
	return false
}
