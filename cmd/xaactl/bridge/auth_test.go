package bridge

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
)

// countingSource hands out tokens that expire at exp and counts requests.
type countingSource struct {
	mu  sync.Mutex
	n   int
	exp time.Time
	err error
}

func (s *countingSource) GetToken(context.Context, client.TokenRequest) (*client.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.err != nil {
		return nil, s.err
	}
	return &client.Token{AccessToken: "t", Expiry: s.exp}, nil
}

func (s *countingSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// The cache serves a token for cacheFor of the injected clock, never one
// close to expiry, never past a forced refresh, and never after the wall
// clock steps back.
func TestTokenCache(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	src := &countingSource{exp: clk.Now().Add(time.Hour)}
	tc := &tokenCache{inner: src, clk: clk}
	get := func(req client.TokenRequest) {
		t.Helper()
		if _, err := tc.GetToken(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	req := client.TokenRequest{Resource: "https://m.example/mcp"}
	steps := []struct {
		name  string
		do    func()
		asked int
	}{
		{"first", func() {}, 1},
		{"within cacheFor", func() { clk.Advance(cacheFor - time.Millisecond) }, 1},
		{"cacheFor passed", func() { clk.Advance(time.Millisecond) }, 2},
		{"forced refresh", func() { req.ForceRefresh = true }, 3},
		{"cached again", func() { req.ForceRefresh = false }, 3},
		{"wall clock stepped back", func() { clk.Jump(-time.Minute) }, 4},
		{"other scopes", func() { req.Scopes = []string{"x"} }, 5},
		{"close to expiry", func() { req.Scopes = nil; clk.Advance(cacheFor); src.exp = clk.Now().Add(cacheMargin) }, 6},
		{"not reused near expiry", func() {}, 7},
		{"MinValidFor beyond the token", func() {
			clk.Advance(cacheFor)
			src.exp = clk.Now().Add(time.Hour)
			get(req) // 8, cached
			req.MinValidFor = time.Hour
		}, 9},
	}
	for _, s := range steps {
		s.do()
		get(req)
		if n := src.count(); n != s.asked {
			t.Fatalf("%s: the daemon was asked %d times, want %d", s.name, n, s.asked)
		}
	}
}

// A DISCOVERY_FAILED answer (no OAuth at the server) is kept as long as a
// token, so a server without OAuth costs one discovery per cacheFor; other
// errors are not kept.
func TestTokenCacheKeepsNoOAuthAnswer(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		reason string
		kept   bool
	}{{"DISCOVERY_FAILED", true}, {"LOGIN_REQUIRED", false}} {
		src := &countingSource{err: &client.Error{Code: codes.FailedPrecondition, Reason: tc.reason, Message: "x"}}
		cache := &tokenCache{inner: src, clk: clk}
		for range 2 {
			if _, err := cache.GetToken(context.Background(), client.TokenRequest{}); !errors.As(err, new(*client.Error)) {
				t.Fatalf("%s: err = %v", tc.reason, err)
			}
		}
		if want := map[bool]int{true: 1, false: 2}[tc.kept]; src.count() != want {
			t.Errorf("%s: asked %d times, want %d", tc.reason, src.count(), want)
		}
	}
}
