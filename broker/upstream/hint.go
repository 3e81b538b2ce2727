package upstream

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MaxHold caps how long one answer can stop an endpoint. Okta's rate limit
// windows are one minute and a 503's Retry-After is typically seconds to a
// few minutes; a longer value is more likely a misconfigured proxy or a
// clock gone wrong than intent, and honouring it would leave tokens to
// expire for nothing. Clipping costs the server at most one request per
// endpoint per MaxHold from each daemon, which then meets the server's
// answer again.
const MaxHold = 10 * time.Minute

// Header names the parser reads.
const (
	// RetryAfter is RFC 9110 §10.2.3's field: delay-seconds or an HTTP-date.
	RetryAfter = "Retry-After"
	// RateLimitReset is the de-facto field Okta (and others) send with a
	// 429: the UTC epoch second at which the rate limit window resets.
	RateLimitReset = "X-Rate-Limit-Reset"
)

// Hint is what one answer says about when to call the endpoint again. The
// zero Hint means the answer named no usable time; then the caller's own
// backoff applies.
type Hint struct {
	// At is the earliest time the server allows the next request, never
	// before the time the answer was received and never more than
	// MaxHold (or the cap given to [ParseRetry]) after it.
	At time.Time
	// Asked is the wait the server asked for, before clipping; it
	// saturates instead of overflowing.
	Asked time.Duration
	// Clipped reports that Asked was longer than the cap; At is then the
	// receive time plus the cap. Callers should log it: the server and the
	// daemon disagree about what is reasonable.
	Clipped bool
	// Field is the header At came from: [RetryAfter] or [RateLimitReset].
	Field string
}

// IsZero reports whether the hint names no time.
func (h Hint) IsZero() bool { return h.At.IsZero() }

// String describes the hint for logs and error messages.
func (h Hint) String() string {
	if h.IsZero() {
		return "no retry time"
	}
	s := fmt.Sprintf("%s asks to wait %s, until %s", h.Field, h.Asked, h.At.UTC().Format(time.RFC3339))
	if h.Clipped {
		s = fmt.Sprintf("%s asks to wait %s; clipped to %s", h.Field, h.Asked, h.At.UTC().Format(time.RFC3339))
	}
	return s
}

// ParseRetry reads when the server allows the next request from an answer
// with the given status and header, received at now, waits clipped to
// limit. It is pure: the same input always gives the same Hint, and the
// result is either zero or has At within [now, now+limit].
//
// Only 429 (RFC 6585 §4) and 503 (RFC 9110 §15.6.4) are read: Retry-After
// on a 3xx means something else, and Okta sends X-Rate-Limit-Reset on every
// answer, where it describes the window rather than asks for a pause.
//
// Retry-After is delay-seconds (1*DIGIT) or an HTTP-date in any of the
// three forms RFC 9110 §5.6.7 says a recipient must accept.
// X-Rate-Limit-Reset is a non-negative count of UTC epoch seconds. Both
// dates are measured against the answer's own Date header when it has a
// valid one, so a server clock that disagrees with ours shifts nothing
// (the wait is the difference of two readings of the same clock); without
// one, against now. A time in the past means "now". When several values
// are usable, the latest wins: no request goes before any time the server
// named. Anything else (signs, fractions, words, empty values) is ignored.
func ParseRetry(status int, h http.Header, now time.Time, limit time.Duration) Hint {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return Hint{}
	}
	base, ok := parseHTTPDate(h.Get("Date"))
	if !ok {
		base = now
	}
	var best Hint
	found := false
	consider := func(field string, d time.Duration) {
		if !found || d > best.Asked {
			best, found = Hint{Asked: d, Field: field}, true
		}
	}
	for _, v := range h.Values(RetryAfter) {
		if d, ok := retryAfterDelay(v, base); ok {
			consider(RetryAfter, d)
		}
	}
	for _, v := range h.Values(RateLimitReset) {
		if d, ok := resetDelay(v, base); ok {
			consider(RateLimitReset, d)
		}
	}
	if !found {
		return Hint{}
	}
	limit = max(limit, 0)
	if best.Asked > limit {
		best.Clipped = true
		best.At = now.Add(limit)
	} else {
		best.At = now.Add(best.Asked)
	}
	return best
}

// retryAfterDelay parses one Retry-After value.
func retryAfterDelay(v string, base time.Time) (time.Duration, bool) {
	v = trimOWS(v)
	if secs, ok := parseDigits(v); ok {
		return secondsToDuration(secs), true
	}
	t, ok := parseHTTPDate(v)
	if !ok {
		return 0, false
	}
	return max(t.Sub(base), 0), true
}

// resetDelay parses one X-Rate-Limit-Reset value.
func resetDelay(v string, base time.Time) (time.Duration, bool) {
	secs, ok := parseDigits(trimOWS(v))
	if !ok {
		return 0, false
	}
	return max(time.Unix(secs, 0).Sub(base), 0), true
}

// maxDigitSeconds is far beyond any cap and well inside int64, so longer
// numbers saturate instead of overflowing.
const maxDigitSeconds = 1 << 40

// parseDigits accepts 1*DIGIT and saturates at maxDigitSeconds.
func parseDigits(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= maxDigitSeconds { // stays far below overflow
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDigitSeconds), true
}

func secondsToDuration(secs int64) time.Duration {
	if secs > int64(time.Duration(1<<63-1)/time.Second) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(secs) * time.Second
}

// parseHTTPDate accepts the three HTTP-date forms of RFC 9110 §5.6.7. The
// two with a zone must say GMT: Go would otherwise read another
// abbreviation in the local zone.
func parseHTTPDate(v string) (time.Time, bool) {
	v = trimOWS(v)
	if t, err := time.Parse(http.TimeFormat, v); err == nil {
		return t, true
	}
	if strings.HasSuffix(v, " GMT") {
		if t, err := time.Parse(time.RFC850, v); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse(time.ANSIC, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// trimOWS drops RFC 9110 §5.6.3 optional whitespace (SP and HTAB).
func trimOWS(v string) string { return strings.Trim(v, " \t") }
