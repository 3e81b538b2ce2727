package schedule_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/schedule"
)

func TestRefreshAtWindow(t *testing.T) {
	issued := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for _, life := range []time.Duration{24 * time.Hour, time.Hour, 10 * time.Minute, 6 * time.Minute, 5 * time.Minute, 3 * time.Minute, time.Minute} {
		exp := issued.Add(life)
		for i := range 101 {
			u := float64(i) / 101
			at := schedule.RefreshAt(issued, exp, u)
			if at.Before(issued) || !at.Before(exp) {
				t.Fatalf("life %s u %.2f: refresh at %s outside the token's life", life, u, at.Sub(issued))
			}
			if life >= 4*time.Minute && exp.Sub(at) < 2*time.Minute {
				t.Errorf("life %s u %.2f: refresh %s before expiry, later than the 2 minute floor", life, u, exp.Sub(at))
			}
			third := float64(life) / 3
			if remain := float64(exp.Sub(at)); life >= 10*time.Minute && (remain < 0.9*third-1 || remain > 1.1*third+1) {
				t.Errorf("life %s u %.2f: %s remaining, want a third +-10%%", life, u, exp.Sub(at))
			}
		}
	}
}

// Jitter spreads the refreshes of 1,000 servers that got their tokens at
// the same moment over the whole +-10% window.
func TestRefreshJitterSpreads(t *testing.T) {
	issued := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	exp := issued.Add(time.Hour)
	r := rand.New(rand.NewPCG(1, 2))
	var ats []time.Time
	for range 1000 {
		ats = append(ats, schedule.RefreshAt(issued, exp, r.Float64()))
	}
	slices.SortFunc(ats, func(a, b time.Time) int { return a.Compare(b) })
	spread := ats[len(ats)-1].Sub(ats[0])
	if spread < 3*time.Minute { // the window is 4 minutes wide (20 min +-10%)
		t.Errorf("1,000 refreshes spread over only %s", spread)
	}
	// No minute of the window holds more than twice its fair share.
	buckets := map[int64]int{}
	for _, at := range ats {
		buckets[at.Unix()/60]++
	}
	for m, n := range buckets {
		if n > 2*1000/4+50 {
			t.Errorf("minute %d holds %d refreshes", m, n)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt   int
		remaining time.Duration
		ceiling   time.Duration
	}{
		{1, time.Hour, time.Second},
		{2, time.Hour, 2 * time.Second},
		{5, time.Hour, 16 * time.Second},
		{20, time.Hour, 5 * time.Minute},
		{20, 8 * time.Minute, 2 * time.Minute}, // a quarter of the validity left
		{20, 0, time.Minute},                   // nothing valid left
		{20, -time.Hour, time.Minute},
		{1, 100 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := schedule.BackoffCeiling(tt.attempt, tt.remaining); got != tt.ceiling {
			t.Errorf("ceiling(%d, %s) = %s, want %s", tt.attempt, tt.remaining, got, tt.ceiling)
		}
		for _, u := range []float64{0, 0.5, 0.999} {
			d := schedule.Backoff(tt.attempt, tt.remaining, u)
			if d > tt.ceiling || d < 100*time.Millisecond {
				t.Errorf("backoff(%d, %s, %.3f) = %s outside [100ms, %s]", tt.attempt, tt.remaining, u, d, tt.ceiling)
			}
		}
	}
}

// TestRetryDelay: the first retries are the quick backoff; then a token
// still valid is retried once, in the two minutes before its last minute;
// an expired one (or one in that last window) waits below eight times the
// time it has been failing, at most five minutes.
func TestRetryDelay(t *testing.T) {
	for _, u := range []float64{0, 0.5, 0.999} {
		for attempt := 1; attempt <= 3; attempt++ {
			if got, want := schedule.RetryDelay(attempt, 20*time.Minute, time.Hour, u), schedule.Backoff(attempt, 20*time.Minute, u); got != want {
				t.Errorf("quick retry %d, u=%v: %s, want the backoff's %s", attempt, u, got, want)
			}
		}
		got := schedule.RetryDelay(4, 20*time.Minute, 10*time.Second, u)
		if lo, hi := 17*time.Minute, 19*time.Minute; got < lo || got > hi {
			t.Errorf("valid token, u=%v: retried after %s, want in [%s, %s]", u, got, lo, hi)
		}
		for _, remaining := range []time.Duration{0, -time.Hour, 2 * time.Minute} {
			got := schedule.RetryDelay(4, remaining, 10*time.Minute, u)
			if got > 5*time.Minute || got < 100*time.Millisecond {
				t.Errorf("remaining %s, failing 10m, u=%v: %s, want at most 5m", remaining, u, got)
			}
		}
	}
	if got := schedule.RetryDelay(5, 0, 10*time.Second, 0.5); got != 40*time.Second {
		t.Errorf("expired, failing 10s, u=0.5: %s, want 40s (half of 8 x 10s)", got)
	}
	if got := schedule.CatchUpCeiling(0); got != 0 {
		t.Errorf("CatchUpCeiling(0) = %s", got)
	}
}
