package daemon

import (
	"fmt"
	"math"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// RateSection is the client-side rate limit of one upstream token
// endpoint: a token bucket of rate_limit requests per second, with bursts
// of up to rate_burst after a quiet spell. It sits in [idp] (token
// exchanges, ID token refreshes, sign-in grants), in each
// [[authorization_server]] (jwt-bearer grants) and in [default_client].
// Unset keys take upstream.DefaultLimit's: 2 per second with bursts of 2,
// so no second ever holds more than 4 requests (Okta's per-user limit at
// its token endpoint).
type RateSection struct {
	RateLimit *float64 `toml:"rate_limit"`
	RateBurst *int     `toml:"rate_burst"`
}

// limit is the section's limit; zero fields mean the default.
func (r RateSection) limit() upstream.Limit {
	var l upstream.Limit
	if r.RateLimit != nil {
		l.Rate = *r.RateLimit
	}
	if r.RateBurst != nil {
		l.Burst = *r.RateBurst
	}
	return l
}

// validate checks the keys that are set; an explicit 0 is a mistake, not
// "the default".
func (r RateSection) validate(where string) Problems {
	var p Problems
	if v := r.RateLimit; v != nil && (math.IsNaN(*v) || *v <= 0 || *v > upstream.MaxRate) {
		p = append(p, fmt.Sprintf("%s.rate_limit = %v: want requests per second above 0 and at most %d (the default, %g, stays below the strictest published per-user limit)",
			where, *v, upstream.MaxRate, upstream.DefaultLimit.Rate))
	}
	if v := r.RateBurst; v != nil && (*v < 1 || *v > upstream.MaxBurst) {
		p = append(p, fmt.Sprintf("%s.rate_burst = %d: want a number of requests from 1 to %d (default %d)",
			where, *v, upstream.MaxBurst, upstream.DefaultLimit.Burst))
	}
	return p
}

// limits are the broker's rate limits from the file.
func (fc *FileConfig) limits() broker.Limits {
	l := broker.Limits{IdP: fc.IdP.limit(), AuthServers: map[string]upstream.Limit{}}
	for _, as := range fc.AuthServers {
		l.AuthServers[as.Issuer] = as.limit()
	}
	if fc.DefaultClient != nil {
		l.Default = fc.DefaultClient.limit()
	}
	return l
}
