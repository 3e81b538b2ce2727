package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// countingSigner numbers its proofs and tells signedCh of each one.
type countingSigner struct {
	mu       sync.Mutex
	n        int
	signedCh chan string
}

func (s *countingSigner) GetToken(context.Context, TokenRequest) (*Token, error) {
	return &Token{AccessToken: "t", TokenType: "DPoP"}, nil // cached: no proof
}

func (s *countingSigner) SignProof(_ context.Context, r SignProofRequest) (string, error) {
	s.mu.Lock()
	s.n++
	p := fmt.Sprintf("proof-%d-%s", s.n, r.Request.Nonce)
	s.mu.Unlock()
	s.signedCh <- p
	return p, nil
}

// A proof signed ahead serves the next request like the last, once; one
// that is too old, or for another nonce, is not used.
func TestTransportSignsAhead(t *testing.T) {
	var mu sync.Mutex
	var got []string
	nonce := "n1"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("DPoP"))
		w.Header().Set("DPoP-Nonce", nonce)
		mu.Unlock()
	}))
	defer srv.Close()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := &countingSigner{signedCh: make(chan string, 16)}
	stored := make(chan struct{}, 16)
	tr := &Transport{Source: s, Resource: srv.URL, Now: clk.Now, onAhead: func() { stored <- struct{}{} }}
	hc := &http.Client{Transport: tr}
	// aheadReady waits for the proof signed ahead to be kept.
	aheadReady := func() string { p := <-s.signedCh; <-stored; return p }
	post := func() string {
		t.Helper()
		resp, err := hc.Post(srv.URL+"/mcp", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}
	if p := post(); p != "proof-1-" || <-s.signedCh != "proof-1-" {
		t.Fatalf("first request carried %q, want the proof signed for it", p)
	}
	ahead := aheadReady() // signed after the first answer, with its nonce
	if p := post(); p != ahead || ahead != "proof-2-n1" {
		t.Fatalf("second request carried %q, want the proof signed ahead (%q)", p, ahead)
	}
	// Too old: signed again now rather than sent.
	stale := aheadReady()
	clk.Advance(presignMaxAge)
	if p := post(); p == stale || p != <-s.signedCh {
		t.Errorf("after %s the request carried %q; want a new proof, not %q", presignMaxAge, p, stale)
	}
	// The server's nonce changed in the last answer: the proof signed
	// ahead has it.
	aheadReady()
	mu.Lock()
	nonce = "n2"
	mu.Unlock()
	post() // answered with n2; the next one signed ahead carries n2
	if next := aheadReady(); !strings.HasSuffix(next, "-n2") {
		t.Fatalf("signed ahead %q after the nonce changed", next)
	}
	if p := post(); !strings.HasSuffix(p, "-n2") {
		t.Errorf("request after the nonce changed carried %q", p)
	}
}
