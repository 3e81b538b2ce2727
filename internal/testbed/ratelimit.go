package testbed

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit models the per-user rate limit of a real token endpoint
// (Okta's /token allows about 4 requests per second per user): a token
// bucket per user that refills at Rate per second up to Burst, and, when
// it is empty, a 429 with Retry-After (whole seconds until the next
// request would pass) and X-Rate-Limit-Reset (that time as a UTC epoch
// second), the two fields Okta sends. Time is the testbed's clock.
type RateLimit struct {
	// Rate is the requests per second each user may make; zero removes
	// the limit.
	Rate float64
	// Burst is how many may come at once after a quiet spell; zero means
	// Rate rounded up.
	Burst int
}

// maxLimitedUsers bounds the buckets kept per endpoint; beyond it the
// least recently seen user is forgotten.
const maxLimitedUsers = 1024

// SetRateLimit limits ep per user (see [RateLimit]), with every bucket
// full; a zero Rate removes the limit. The user of a token request is the
// sub of its subject_token (token exchange) or assertion (jwt-bearer),
// else its client.
func (tb *Testbed) SetRateLimit(ep Endpoint, l RateLimit) {
	tb.limits.mu.Lock()
	defer tb.limits.mu.Unlock()
	if l.Rate <= 0 || math.IsNaN(l.Rate) {
		delete(tb.limits.by, ep)
		return
	}
	if l.Burst <= 0 {
		l.Burst = int(math.Ceil(l.Rate))
	}
	if tb.limits.by == nil {
		tb.limits.by = map[Endpoint]*endpointLimit{}
	}
	tb.limits.by[ep] = &endpointLimit{limit: l, users: map[string]*bucket{}}
}

// Throttle is a fault that answers status (429 or 503) with the given
// Retry-After value, sent as it is (delay-seconds or an HTTP-date), and an
// RFC 6749 §5.2 error body, as an overloaded or rate-limiting server does.
func Throttle(status int, retryAfter string) Fault {
	return Fault{Status: status, Error: "temporarily_unavailable", Description: "slow down",
		Header: http.Header{"Retry-After": {retryAfter}}}
}

type rateLimits struct {
	mu sync.Mutex
	by map[Endpoint]*endpointLimit
}

type endpointLimit struct {
	limit RateLimit
	users map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// refuse answers a request over its user's limit with a 429 and reports
// whether it did.
func (rl *rateLimits) refuse(ep Endpoint, w http.ResponseWriter, r *http.Request, form url.Values, now time.Time) bool {
	rl.mu.Lock()
	el := rl.by[ep]
	var wait time.Duration
	if el != nil {
		wait = el.take(requestUser(r, form), now)
	}
	rl.mu.Unlock()
	if el == nil || wait == 0 {
		return false
	}
	secs := int64(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(now.Add(time.Duration(secs)*time.Second).Unix(), 10))
	// Okta's body for a rate limit answer.
	writeJSON(w, http.StatusTooManyRequests, map[string]string{
		"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests.",
	})
	return true
}

// take spends one request of user's bucket at now, or returns how long
// until one is there.
func (el *endpointLimit) take(user string, now time.Time) time.Duration {
	b := el.users[user]
	if b == nil {
		if len(el.users) >= maxLimitedUsers {
			el.forgetOldest()
		}
		b = &bucket{tokens: float64(el.limit.Burst), at: now}
		el.users[user] = b
	}
	if now.After(b.at) {
		b.tokens = math.Min(float64(el.limit.Burst), b.tokens+now.Sub(b.at).Seconds()*el.limit.Rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / el.limit.Rate * float64(time.Second))
}

func (el *endpointLimit) forgetOldest() {
	var oldest string
	for u, b := range el.users {
		if oldest == "" || b.at.Before(el.users[oldest].at) {
			oldest = u
		}
	}
	delete(el.users, oldest)
}

// requestUser is whom a token request is for: the sub of the JWT it
// presents, else the client that sent it, else its address.
func requestUser(r *http.Request, form url.Values) string {
	for _, k := range []string{"subject_token", "assertion"} {
		if sub := jwtSub(form.Get(k)); sub != "" {
			return "sub:" + sub
		}
	}
	if id, _, ok := r.BasicAuth(); ok {
		return "client:" + id
	}
	if id := form.Get("client_id"); id != "" {
		return "client:" + id
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return "addr:" + host
}

// jwtSub reads the sub claim of a compact JWS without verifying it: only
// to put the request in its user's bucket, as a rate limiter in front of
// the real checks does.
func jwtSub(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Sub
}
