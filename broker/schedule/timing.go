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
	// catchUpFactor and catchUpCap spread the retries of a refresh that
	// has been failing for a while (see CatchUpCeiling).
	catchUpFactor = 8
	catchUpCap    = 5 * time.Minute
	// quickRetries are the retries on the exponential backoff: a hiccup
	// is over within seconds.
	quickRetries = 3
	// catchUpMargin and catchUpJitter place the retry of a token still
	// valid after the quick retries: in the catchUpJitter before
	// catchUpMargin ahead of its expiry.
	catchUpMargin = time.Minute
	catchUpJitter = 2 * time.Minute
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

// RetryDelay is the delay before background retry number attempt of a
// refresh that has been failing for failing, with remaining validity left
// and the draw u in [0, 1). The first quickRetries follow [Backoff]: a
// hiccup is over within seconds. After them, a token still valid is
// retried once shortly before it expires (in the two minutes before the
// last minute of its validity), and one no longer valid with full jitter
// below [CatchUpCeiling], which grows with the time spent failing.
//
// This is what keeps a fleet's recovery from an outage from becoming a
// stampede. The refreshes that fell due during an outage of length D are
// a backlog of D times the fleet's steady refresh rate; retried within a
// fixed cap C once the upstream is back, they would come at D/C times the
// steady rate (tens of times it for a 30-minute outage and a 1-minute
// cap). Retried just before expiry, they come as the tokens' expiries are
// spread, which is the steady refresh rate again, shifted by the third of
// a lifetime a refresh is early: at most about 1x the steady rate on top
// of the refreshes due anyway, and every token still valid at the
// recovery is refreshed before it expires, so nobody waits for it. A token
// that expired is left to its next caller, unless its server is kept warm
// ([CatchUpCeiling]). Callers
// are held by none of this: a caller's request goes upstream as soon as
// the gates let it and gets its token as soon as the upstream has
// capacity. internal/fleetsim measures it; docs/fleet.md has the figures.
func RetryDelay(attempt int, remaining, failing time.Duration, u float64) time.Duration {
	if attempt <= quickRetries {
		return Backoff(attempt, remaining, u)
	}
	if remaining > catchUpMargin+catchUpJitter {
		// Once: a retry in that window that fails finds less validity
		// left than the window, and goes on the catch-up backoff.
		return remaining - catchUpMargin - time.Duration(u*float64(catchUpJitter))
	}
	ceiling := max(BackoffCeiling(attempt, remaining), CatchUpCeiling(failing))
	return max(time.Duration(u*float64(ceiling)), backoffMin)
}

// CatchUpCeiling is the ceiling of a background retry of an expired token
// whose refresh has been failing for failing: catchUpFactor times that, at
// most catchUpCap. Only a token someone wants without asking is retried
// once expired (a keep-warm server, or an idle_after rule; see
// [Queue.Due]), so the cap is kept short: such a token should be ready
// soon after the upstream is back, and one retry per token every few
// minutes costs the upstream little.
func CatchUpCeiling(failing time.Duration) time.Duration {
	if failing <= 0 {
		return 0
	}
	return min(catchUpFactor*failing, catchUpCap)
}
