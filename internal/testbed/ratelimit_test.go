package testbed

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The rate limit is a bucket per user on the testbed's clock: Burst
// requests pass, the next gets a 429 with Retry-After and
// X-Rate-Limit-Reset naming when one would pass, another user is not
// affected, and time refills the bucket. Removing the limit lets
// everything through again.
func TestRateLimitPerUser(t *testing.T) {
	clk := newFakeClock()
	tb := start(t, Options{Now: clk.Now})
	tb.SetRateLimit(EndpointIdPToken, RateLimit{Rate: 4})
	alice, bob := mustIDToken(t, tb, IDTokenOptions{}), mustIDToken(t, tb, IDTokenOptions{Subject: "bob"})
	send := func(idt string) response {
		return postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, idt), idpBasic(tb))
	}
	for i := range 4 {
		if r := send(alice); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %v", i, r.status, r.body)
		}
	}
	r := send(alice)
	reset := strconv.FormatInt(clk.Now().Add(time.Second).Unix(), 10)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" || r.header.Get("X-Rate-Limit-Reset") != reset {
		t.Fatalf("over the limit: %d, Retry-After %q, X-Rate-Limit-Reset %q (want %s)", r.status, r.header.Get("Retry-After"), r.header.Get("X-Rate-Limit-Reset"), reset)
	}
	if r := send(bob); r.status != http.StatusOK {
		t.Fatalf("another user: %d", r.status)
	}
	clk.Advance(250 * time.Millisecond) // one request's worth at 4/s
	if r := send(alice); r.status != http.StatusOK {
		t.Fatalf("after a refill: %d", r.status)
	}
	if r := send(alice); r.status != http.StatusTooManyRequests {
		t.Fatalf("the refill was one request: %d", r.status)
	}
	c := tb.Counters()
	if c.TooManyRequests[EndpointIdPToken] != 2 || c.Requests[EndpointIdPToken] != 8 || c.TokenExchanges != 6 {
		t.Errorf("counters %+v", c)
	}
	tb.SetRateLimit(EndpointIdPToken, RateLimit{})
	if r := send(alice); r.status != http.StatusOK {
		t.Fatalf("without the limit: %d", r.status)
	}
}

// Throttle answers with the chosen status and Retry-After, and the
// request log keeps every request in order with its endpoint and time.
func TestThrottleAndRequestLog(t *testing.T) {
	clk := newFakeClock()
	tb := start(t, Options{Now: clk.Now})
	tb.QueueFault(EndpointIdPToken, 1, Throttle(http.StatusServiceUnavailable, "7"))
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})), idpBasic(tb))
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "7" || r.str("error") != "temporarily_unavailable" {
		t.Fatalf("throttled: %d %v %v", r.status, r.header, r.body)
	}
	clk.Advance(7 * time.Second)
	exchange(t, tb)
	log := tb.RequestLog()
	if len(log) != 2 || log[0].Endpoint != EndpointIdPToken || log[0].Status != 503 || log[1].Status != 200 ||
		log[1].At.Sub(log[0].At) != 7*time.Second || log[1].Form.Get("subject_token") == "" {
		t.Errorf("request log %+v", log)
	}
}
