package schedule

import (
	"math"
	"time"
)

// The refresh policy, as pure functions so it can be tested exhaustively
// and tuned by measurement (and driven by a simulator).
const (
	// refreshFraction of a token's lifetime remains when it is refreshed.
	refreshFraction = 1.0 / 3
	// refreshJitter spreads refreshes by +-10% of that remainder, so a
	// fleet started together does not refresh in lockstep.
	refreshJitter = 0.10
	// refreshFloor: a refresh is never planned later than this before expiry.
	refreshFloor = 2 * time.Minute
	// backoffBase and backoffCap bound the retry delays after a failure.
	backoffBase = time.Second
	backoffCap  = 5 * time.Minute
	// backoffCapExpired caps the delay when no valid token is left: the
	// quarter-of-validity rule has nothing to divide, and five minutes of
	// failing requests after an upstream recovered is too long.
	backoffCapExpired = time.Minute
	// backoffMin keeps full jitter from turning into a hot loop.
	backoffMin = 100 * time.Millisecond
)

// RefreshAt returns when a token obtained at issued and expiring at expires
// should be refreshed. u in [0, 1) is the jitter draw. The token is
// refreshed once about a third of its lifetime remains (+-10%), and never
// later than two minutes before it expires; a token too short for that
// rule is refreshed at half its lifetime.
func RefreshAt(issued, expires time.Time, u float64) time.Time {
	life := expires.Sub(issued)
	if life <= 0 {
		return issued
	}
	jitter := 1 + refreshJitter*(2*u-1)
	remain := time.Duration(float64(life) * refreshFraction * jitter)
	at := expires.Add(-remain)
	if latest := expires.Add(-refreshFloor); at.After(latest) {
		// Still spread tokens whose planned point falls past the floor.
		at = latest.Add(-time.Duration(float64(remain) * refreshJitter * u))
	}
	if half := issued.Add(life / 2); at.Before(half) && life < 3*refreshFloor {
		at = half
	}
	return at
}

// Backoff returns the delay before retry number attempt (1 for the first
// retry) after a transient failure, with full jitter (u in [0, 1)): a
// uniform draw below an exponential ceiling that starts at 1 s and is
// capped at 5 minutes and at a quarter of the validity the current token
// has left.
func Backoff(attempt int, remaining time.Duration, u float64) time.Duration {
	ceiling := BackoffCeiling(attempt, remaining)
	d := time.Duration(u * float64(ceiling))
	if d < backoffMin {
		d = backoffMin
	}
	return d
}

// BackoffCeiling is the upper bound of [Backoff] for attempt.
func BackoffCeiling(attempt int, remaining time.Duration) time.Duration {
	limit := backoffCap
	if remaining <= 0 {
		limit = backoffCapExpired
	} else if q := remaining / 4; q < limit {
		limit = q
	}
	if limit < backoffMin {
		limit = backoffMin
	}
	if attempt < 1 {
		attempt = 1
	}
	exp := float64(backoffBase) * math.Pow(2, float64(attempt-1))
	if exp > float64(limit) {
		return limit
	}
	return time.Duration(exp)
}
