package daemon

import (
	"fmt"
	"time"
)

// Bounds of a server's idle_after. Below a minute it would stop the
// refresh of nearly every token (they are refreshed minutes before
// expiry); past a week it is keep_warm = true said unclearly.
const (
	minIdleAfter = time.Minute
	maxIdleAfter = 7 * 24 * time.Hour
)

// idleAfter is the server's idle_after, zero when unset (the lifetime
// rule: a token is refreshed in the background only if it was asked for
// since it was obtained). validate has checked it.
func (s ServerSection) idleAfter() time.Duration {
	d, _ := time.ParseDuration(s.IdleAfter)
	return d
}

// checkIdle checks a server's idle_after and keep_warm together.
func checkIdle(where string, s ServerSection) Problems {
	if s.IdleAfter == "" {
		return nil
	}
	d, err := time.ParseDuration(s.IdleAfter)
	switch {
	case err != nil:
		return Problems{fmt.Sprintf("%s.idle_after = %q: want a duration such as \"30m\" or \"8h\"", where, s.IdleAfter)}
	case d < minIdleAfter || d > maxIdleAfter:
		return Problems{fmt.Sprintf("%s.idle_after = %q: want from %s to %s (unset: refresh a token only if it was used since it was obtained)", where, s.IdleAfter, minIdleAfter, "168h")}
	case s.KeepWarm:
		return Problems{where + ": keep_warm = true refreshes the server's tokens whether or not they are used, so idle_after has no effect: remove one of them"}
	}
	return nil
}
