package upstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/upstream"
	"github.com/xaad-dev/xaad/internal/clock"
)

var t0 = time.Date(2100, 1, 1, 9, 0, 0, 0, time.UTC)

// limitedAS is an authorization server that answers its first request with
// 429 and Retry-After: 7, records the (fake) time of every request, and
// issues tokens once the 7 seconds are over. Every request is checked as
// an AS checks a jwt-bearer grant.
type limitedAS struct {
	t    *testing.T
	clk  clock.Clock
	mu   sync.Mutex
	hits []time.Time
	seen chan struct{}
}

func (s *limitedAS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.clk.Now()
	id, secret, ok := r.BasicAuth()
	if r.ParseForm() != nil || !ok || id != "client" || secret != "secret" || r.PostForm.Get("grant_type") != grant.GrantJWTBearer || r.PostForm.Get("assertion") == "" {
		s.t.Errorf("bad request %v", r.PostForm)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.hits = append(s.hits, now)
	first := len(s.hits) == 1
	s.mu.Unlock()
	defer func() { s.seen <- struct{}{} }()
	w.Header().Set("Content-Type", "application/json")
	if first || now.Before(t0.Add(7*time.Second)) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
		return
	}
	_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":3600}`))
}

// The broker's wrapping, end to end with a real HTTP server: after a 429
// with Retry-After: 7, no request reaches the server in those 7 seconds
// (counted by the server on the same fake clock), and every caller waiting
// meanwhile gets its token after, paced by the limit.
func TestNoRequestBeforeRetryAfter(t *testing.T) {
	fk := clock.NewFake(t0)
	as := &limitedAS{t: t, clk: fk, seen: make(chan struct{}, 16)}
	srv := httptest.NewServer(as)
	defer srv.Close()
	ep := &grant.Endpoint{URL: srv.URL + "/token", Auth: grant.ClientAuth{ClientID: "client", Secret: "secret"}, Now: fk.Now}
	g, err := upstream.New(upstream.Config{Name: "AS token endpoint", Clock: fk})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(ctx context.Context) error {
		_, err := grant.JWTBearer(ctx, ep, grant.BearerRequest{Assertion: "fresh id-jag"})
		return err
	}
	if err := g.Do(context.Background(), upstream.Caller, bearer); err == nil {
		t.Fatal("first call succeeded; the server answers it with 429")
	}
	<-as.seen
	if got := g.Snapshot().HeldUntil; !got.Equal(t0.Add(7 * time.Second)) {
		t.Fatalf("held until %v, want +7s", got)
	}
	const callers = 6
	errs := make(chan error, callers)
	for i := range callers {
		go func() { errs <- g.Do(context.Background(), upstream.Caller, bearer) }()
		g.AwaitQueued(upstream.Caller, i+1)
	}
	passed := uint64(1)
	for step := 1; passed < 1+callers; step++ {
		fk.Advance(500 * time.Millisecond)
		if at := time.Duration(step) * 500 * time.Millisecond; at >= 7*time.Second {
			passed++ // one at 7 s (the bucket restarts empty), then one per 500 ms
			g.AwaitPassed(passed)
			<-as.seen // the request has reached the server before time moves on
		} else if fk.Waiters() != 1 || g.Snapshot().Stats.Passed != 1 {
			t.Fatalf("at +%v a request was let through during the hold", at)
		}
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatalf("caller after the hold: %v", err)
		}
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if len(as.hits) != 1+callers {
		t.Fatalf("%d requests reached the server, want %d", len(as.hits), 1+callers)
	}
	for _, h := range as.hits[1:] {
		if h.Before(t0.Add(7 * time.Second)) {
			t.Fatalf("a request reached the server at +%v, before the 7 s it named", h.Sub(t0))
		}
	}
	if s := g.Snapshot().Stats; s.TooMany != 1 || s.Holds != 1 || s.Passed != 1+callers {
		t.Fatalf("stats %+v", s)
	}
}
