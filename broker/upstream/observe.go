package upstream

import (
	"errors"
	"net/http"
)

// Answered is an error that carries an upstream's HTTP answer, so
// [Gate.ObserveError] can read it without this package knowing the error
// types of its callers. broker/grant's *OAuthError implements it.
type Answered interface {
	error
	// Answer returns the HTTP status and what the answer said about when
	// to come back (zero when nothing usable).
	Answer() (status int, retry Hint)
}

// Observe records one answer of the endpoint. A hint that names a time
// after now stops every request until then (never shortening a hold
// already in force), and turns away at once the waiters whose deadline
// comes first.
func (g *Gate) Observe(status int, h Hint) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch status {
	case http.StatusTooManyRequests:
		g.stats.TooMany++
	case http.StatusServiceUnavailable:
		g.stats.Unavailable++
	}
	if h.IsZero() {
		return
	}
	now := g.clk.Now()
	if h.Clipped || h.At.After(now.Add(MaxHold)) {
		g.stats.Clipped++
	}
	if !g.pacer.Hold(h.At, now) {
		return
	}
	g.stats.Holds++
	g.hold = h
	g.failLateLocked(now)
	g.pumpLocked(now) // re-arm the timer for the hold's end
}

// ObserveError records the answer carried by err, if it carries one
// ([Answered]), and returns its hint. A nil error or one without an HTTP
// answer (a timeout, a refused connection) changes nothing.
func (g *Gate) ObserveError(err error) Hint {
	var a Answered
	if err == nil || !errors.As(err, &a) {
		return Hint{}
	}
	status, h := a.Answer()
	g.Observe(status, h)
	return h
}

// ObserveResponse parses and records resp, for code that holds the
// response itself, and returns the hint so the caller can log a clipped
// one. It does not read or close the body.
func (g *Gate) ObserveResponse(resp *http.Response) Hint {
	h := ParseRetry(resp.StatusCode, resp.Header, g.clk.Now(), MaxHold)
	g.Observe(resp.StatusCode, h)
	return h
}
