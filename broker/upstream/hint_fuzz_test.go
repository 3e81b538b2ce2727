package upstream

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetry feeds arbitrary header values, statuses, caps and receive
// times. Invariants: the hint is zero or within [now, now+cap] with its
// fields consistent (checkHint); the same input gives the same hint; a
// Retry-After of only digits on a 429 or 503 always gives a hint; and no
// other status ever does.
func FuzzParseRetry(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzParseRetry; these add a few more.
	f.Add(429, "7", "", "", int64(600), hintNow.Unix())
	f.Add(503, "Tue, 01 Dec 2026 09:00:30 GMT", "", "Tue, 01 Dec 2026 09:00:00 GMT", int64(600), hintNow.Unix())
	f.Fuzz(func(t *testing.T, status int, retryAfter, reset, date string, capSeconds, nowUnix int64) {
		limit := time.Duration(capSeconds%(48*3600)) * time.Second
		now := time.Unix(nowUnix%(1<<34), 0).UTC()
		h := http.Header{}
		for _, kv := range [][2]string{{RetryAfter, retryAfter}, {RateLimitReset, reset}, {"Date", date}} {
			if kv[1] != "" {
				h.Set(kv[0], kv[1])
			}
		}
		got := ParseRetry(status, h, now, limit)
		checkHint(t, got, status, now, limit)
		if again := ParseRetry(status, h.Clone(), now, limit); again != got {
			t.Fatalf("not deterministic: %+v then %+v", got, again)
		}
		digits := strings.Trim(retryAfter, " \t")
		if (status == 429 || status == 503) && digits != "" && strings.Trim(digits, "0123456789") == "" && got.IsZero() {
			t.Fatalf("delay-seconds %q on %d gave no hint", retryAfter, status)
		}
	})
}
