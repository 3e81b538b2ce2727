package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestUseDPoPNonce(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  bool
	}{
		{[]string{`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`}, true},
		{[]string{`dpop algs="ES256", error=use_dpop_nonce`}, true},
		{[]string{`Bearer realm="x"`, `DPoP error="use_dpop_nonce"`}, true},
		{[]string{`Bearer realm="x", DPoP algs="ES256 PS256", error="use_dpop_nonce"`}, true},
		// The error belongs to the Bearer challenge, not to DPoP.
		{[]string{`Bearer error="use_dpop_nonce", DPoP algs="ES256"`}, false},
		{[]string{`DPoP error="invalid_dpop_proof"`}, false},
		// A comma inside a quoted string does not start a parameter.
		{[]string{`DPoP error_description="a, error=use_dpop_nonce"`}, false},
		{[]string{`DPoP error_description="say \"x\", error=use_dpop_nonce", error="invalid_token"`}, false},
		{[]string{`Basic abc==, DPoP error="use_dpop_nonce"`}, true},
		{[]string{`DPoPX error="use_dpop_nonce"`}, false},
		{nil, false},
	} {
		if got := useDPoPNonce(c.lines); got != c.want {
			t.Errorf("useDPoPNonce(%q) = %v, want %v", c.lines, got, c.want)
		}
	}
}

func TestResponseNonce(t *testing.T) {
	for _, c := range []struct {
		values []string
		ok     bool
	}{
		{[]string{"eyJ7S_zG.eyJH0-Z.HX4w-7v"}, true},
		{[]string{"a", "b"}, false}, // which one?
		{[]string{""}, false},
		{[]string{`a"b`}, false},
		{[]string{`a\b`}, false},
		{[]string{"a b"}, false},
		{[]string{strings.Repeat("n", 1025)}, false},
		{nil, false},
	} {
		h := http.Header{"Dpop-Nonce": c.values}
		if _, ok := responseNonce(h); ok != c.ok {
			t.Errorf("responseNonce(%q) ok = %v, want %v", c.values, ok, c.ok)
		}
	}
}

// dpopSource hands out one DPoP token and counts proofs signed.
type dpopSource struct {
	mu     sync.Mutex
	forced int
	signed []string // the nonce of each proof
}

func (s *dpopSource) GetToken(_ context.Context, r TokenRequest) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ForceRefresh {
		s.forced++
	}
	return &Token{AccessToken: "t", TokenType: "DPoP"}, nil
}

func (s *dpopSource) SignProof(_ context.Context, r SignProofRequest) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signed = append(s.signed, r.Request.Nonce)
	return "proof-" + r.Request.Nonce, nil
}

// A server that asks for a new nonce on every request gets exactly one
// retry with it, no forced refresh, and the challenge comes back as is.
func TestTransportNonceRetryIsBounded(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+r.Header.Get("DPoP"))
		n := len(seen)
		mu.Unlock()
		w.Header().Set("DPoP-Nonce", strings.Repeat("n", n))
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	src := &dpopSource{}
	hc := &http.Client{Transport: &Transport{Source: src, Resource: srv.URL}}
	resp, err := hc.Post(srv.URL+"/mcp", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(seen) != 2 || src.forced != 0 {
		t.Fatalf("status %d after %d requests, %d forced refreshes; want the 401 after 2 requests and none", resp.StatusCode, len(seen), src.forced)
	}
	if seen[0] != "DPoP t proof-" || seen[1] != "DPoP t proof-n" {
		t.Errorf("requests carried %q; want a proof without a nonce, then one with the server's", seen)
	}
	// The next request starts with the nonce of the last answer.
	resp, err = hc.Post(srv.URL+"/mcp", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if seen[2] != "DPoP t proof-nn" {
		t.Errorf("third request carried %q, want the remembered nonce nn", seen[2])
	}
}
