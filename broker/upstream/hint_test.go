package upstream

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var hintNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// checkHint asserts the invariants every result of ParseRetry keeps.
func checkHint(t *testing.T, h Hint, status int, now time.Time, limit time.Duration) {
	t.Helper()
	if h.IsZero() {
		if h != (Hint{}) {
			t.Fatalf("hint without a time has other fields set: %+v", h)
		}
		return
	}
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		t.Fatalf("status %d gave a hint %+v", status, h)
	}
	limit = max(limit, 0)
	if h.At.Before(now) || h.At.After(now.Add(limit)) {
		t.Fatalf("At %v outside [%v, %v]", h.At, now, now.Add(limit))
	}
	if h.Asked < 0 {
		t.Fatalf("negative Asked %v", h.Asked)
	}
	if h.Clipped != (h.Asked > limit) {
		t.Fatalf("Clipped=%v with Asked %v and cap %v", h.Clipped, h.Asked, limit)
	}
	if !h.Clipped && !h.At.Equal(now.Add(h.Asked)) {
		t.Fatalf("At %v is not now+Asked (%v)", h.At, h.Asked)
	}
	if h.Field != RetryAfter && h.Field != RateLimitReset {
		t.Fatalf("Field %q", h.Field)
	}
}

func TestParseRetry(t *testing.T) {
	now := hintNow
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	const none = time.Duration(-1)
	tests := []struct {
		name    string
		status  int
		headers [][2]string
		limit   time.Duration
		want    time.Duration // wait after now; none for a zero hint
		asked   time.Duration // 0: same as want
		field   string
	}{
		{"delay seconds on 429", 429, [][2]string{{"Retry-After", "7"}}, MaxHold, 7 * time.Second, 0, RetryAfter},
		{"delay seconds on 503", 503, [][2]string{{"Retry-After", "120"}}, MaxHold, 2 * time.Minute, 0, RetryAfter},
		{"zero means now", 429, [][2]string{{"Retry-After", "0"}}, MaxHold, 0, 0, RetryAfter},
		{"leading zeros", 429, [][2]string{{"Retry-After", "007"}}, MaxHold, 7 * time.Second, 0, RetryAfter},
		{"optional whitespace", 429, [][2]string{{"Retry-After", " \t7 "}}, MaxHold, 7 * time.Second, 0, RetryAfter},
		{"exactly the cap", 429, [][2]string{{"Retry-After", "600"}}, MaxHold, MaxHold, 0, RetryAfter},
		{"beyond the cap is clipped", 429, [][2]string{{"Retry-After", "601"}}, MaxHold, MaxHold, 601 * time.Second, RetryAfter},
		{"huge is clipped", 503, [][2]string{{"Retry-After", "86400000"}}, MaxHold, MaxHold, 86400000 * time.Second, RetryAfter},
		{"overflowing digits saturate", 503, [][2]string{{"Retry-After", strings.Repeat("9", 400)}}, MaxHold, MaxHold, time.Duration(1<<63 - 1), RetryAfter},
		{"IMF-fixdate", 503, [][2]string{{"Retry-After", date(30 * time.Second)}}, MaxHold, 30 * time.Second, 0, RetryAfter},
		{"RFC 850 date", 503, [][2]string{{"Retry-After", now.Add(30 * time.Second).Format("Monday, 02-Jan-06 15:04:05 GMT")}}, MaxHold, 30 * time.Second, 0, RetryAfter},
		{"asctime date", 503, [][2]string{{"Retry-After", now.Add(30 * time.Second).Format(time.ANSIC)}}, MaxHold, 30 * time.Second, 0, RetryAfter},
		{"date in the past means now", 429, [][2]string{{"Retry-After", date(-time.Hour)}}, MaxHold, 0, 0, RetryAfter},
		{"date far ahead is clipped", 429, [][2]string{{"Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"}}, MaxHold, MaxHold, time.Duration(1<<63 - 1), RetryAfter},
		{"date against the server's Date", 429, [][2]string{{"Date", date(-time.Minute)}, {"Retry-After", date(-time.Minute + 7*time.Second)}}, MaxHold, 7 * time.Second, 0, RetryAfter},
		{"server clock ahead", 429, [][2]string{{"Date", date(time.Hour)}, {"Retry-After", date(time.Hour + 9*time.Second)}}, MaxHold, 9 * time.Second, 0, RetryAfter},
		{"garbage Date is ignored", 429, [][2]string{{"Date", "yesterday"}, {"Retry-After", date(5 * time.Second)}}, MaxHold, 5 * time.Second, 0, RetryAfter},
		{"Date and delay seconds", 429, [][2]string{{"Date", date(-time.Hour)}, {"Retry-After", "5"}}, MaxHold, 5 * time.Second, 0, RetryAfter},
		{"epoch reset", 429, [][2]string{{"X-Rate-Limit-Reset", epoch(42 * time.Second)}}, MaxHold, 42 * time.Second, 0, RateLimitReset},
		{"epoch reset in the past", 429, [][2]string{{"X-Rate-Limit-Reset", epoch(-42 * time.Second)}}, MaxHold, 0, 0, RateLimitReset},
		{"epoch reset against Date", 429, [][2]string{{"Date", date(-time.Minute)}, {"X-Rate-Limit-Reset", epoch(-time.Minute + 10*time.Second)}}, MaxHold, 10 * time.Second, 0, RateLimitReset},
		{"epoch 7 is 1970", 429, [][2]string{{"X-Rate-Limit-Reset", "7"}}, MaxHold, 0, 0, RateLimitReset},
		{"huge epoch is clipped", 429, [][2]string{{"X-Rate-Limit-Reset", strings.Repeat("9", 30)}}, MaxHold, MaxHold, time.Duration(1<<63 - 1), RateLimitReset},
		{"later of both fields: reset", 429, [][2]string{{"Retry-After", "5"}, {"X-Rate-Limit-Reset", epoch(20 * time.Second)}}, MaxHold, 20 * time.Second, 0, RateLimitReset},
		{"later of both fields: Retry-After", 429, [][2]string{{"Retry-After", "30"}, {"X-Rate-Limit-Reset", epoch(20 * time.Second)}}, MaxHold, 30 * time.Second, 0, RetryAfter},
		{"garbage Retry-After, usable reset", 429, [][2]string{{"Retry-After", "soon"}, {"X-Rate-Limit-Reset", epoch(3 * time.Second)}}, MaxHold, 3 * time.Second, 0, RateLimitReset},
		{"latest of repeated fields", 503, [][2]string{{"Retry-After", "3"}, {"Retry-After", "9"}, {"Retry-After", "x"}}, MaxHold, 9 * time.Second, 0, RetryAfter},
		{"cap of zero", 429, [][2]string{{"Retry-After", "7"}}, 0, 0, 7 * time.Second, RetryAfter},
		{"negative cap counts as zero", 429, [][2]string{{"Retry-After", "7"}}, -time.Minute, 0, 7 * time.Second, RetryAfter},
		{"smaller cap", 429, [][2]string{{"Retry-After", "7"}}, 5 * time.Second, 5 * time.Second, 7 * time.Second, RetryAfter},

		{"200 is not read", 200, [][2]string{{"Retry-After", "7"}}, MaxHold, none, 0, ""},
		{"redirect is not read", 301, [][2]string{{"Retry-After", "7"}}, MaxHold, none, 0, ""},
		{"500 is not read", 500, [][2]string{{"Retry-After", "7"}}, MaxHold, none, 0, ""},
		{"reset on a 200 is a window, not a pause", 200, [][2]string{{"X-Rate-Limit-Reset", epoch(30 * time.Second)}}, MaxHold, none, 0, ""},
		{"no header", 429, nil, MaxHold, none, 0, ""},
		{"empty", 429, [][2]string{{"Retry-After", ""}}, MaxHold, none, 0, ""},
		{"negative", 429, [][2]string{{"Retry-After", "-5"}}, MaxHold, none, 0, ""},
		{"plus sign", 429, [][2]string{{"Retry-After", "+5"}}, MaxHold, none, 0, ""},
		{"fraction", 429, [][2]string{{"Retry-After", "5.5"}}, MaxHold, none, 0, ""},
		{"exponent", 429, [][2]string{{"Retry-After", "1e3"}}, MaxHold, none, 0, ""},
		{"unit", 429, [][2]string{{"Retry-After", "7s"}}, MaxHold, none, 0, ""},
		{"hex", 429, [][2]string{{"Retry-After", "0x10"}}, MaxHold, none, 0, ""},
		{"two numbers", 429, [][2]string{{"Retry-After", "5 6"}}, MaxHold, none, 0, ""},
		{"non-ASCII digits", 429, [][2]string{{"Retry-After", "٣"}}, MaxHold, none, 0, ""},
		{"word", 503, [][2]string{{"Retry-After", "tomorrow"}}, MaxHold, none, 0, ""},
		{"date in another zone", 503, [][2]string{{"Retry-After", now.Add(30 * time.Second).Format("Monday, 02-Jan-06 15:04:05 PST")}}, MaxHold, none, 0, ""},
		{"ISO date", 503, [][2]string{{"Retry-After", now.Add(30 * time.Second).Format(time.RFC3339)}}, MaxHold, none, 0, ""},
		{"negative epoch", 429, [][2]string{{"X-Rate-Limit-Reset", "-1"}}, MaxHold, none, 0, ""},
		{"fractional epoch", 429, [][2]string{{"X-Rate-Limit-Reset", "1.9e9"}}, MaxHold, none, 0, ""},
		{"reset as a date", 429, [][2]string{{"X-Rate-Limit-Reset", date(time.Second)}}, MaxHold, none, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range tt.headers {
				h.Add(kv[0], kv[1])
			}
			got := ParseRetry(tt.status, h, now, tt.limit)
			checkHint(t, got, tt.status, now, tt.limit)
			if tt.want == none {
				if !got.IsZero() {
					t.Fatalf("got %+v, want no hint", got)
				}
				return
			}
			if got.IsZero() {
				t.Fatal("got no hint")
			}
			asked := tt.asked
			if asked == 0 {
				asked = tt.want
			}
			if !got.At.Equal(now.Add(tt.want)) || got.Asked != asked || got.Field != tt.field {
				t.Fatalf("got At=+%v Asked=%v Field=%s, want +%v %v %s", got.At.Sub(now), got.Asked, got.Field, tt.want, asked, tt.field)
			}
		})
	}
}

func TestHintString(t *testing.T) {
	if got := (Hint{}).String(); got != "no retry time" {
		t.Errorf("zero hint: %q", got)
	}
	h := ParseRetry(429, http.Header{"Retry-After": {"7"}}, hintNow, MaxHold)
	if got, want := h.String(), "Retry-After asks to wait 7s, until 2026-12-01T09:00:07Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	h = ParseRetry(503, http.Header{"Retry-After": {"3600"}}, hintNow, MaxHold)
	if got, want := h.String(), "Retry-After asks to wait 1h0m0s; clipped to 2026-12-01T09:10:00Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
