package fleetsim

import (
	"fmt"
	"strings"
	"time"
)

// ParseClock reads a time of day, HH:MM, as the duration since midnight.
func ParseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// ParseOutage reads TARGET@HH:MM+DURATION, for example idp@10:30+30m: the
// IdP (or as: every authorization server) answers 503 from 10:30 for 30
// minutes.
func ParseOutage(s string) (Outage, error) {
	target, rest, ok := strings.Cut(s, "@")
	at, length, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 {
		return Outage{}, fmt.Errorf("outage %q: want TARGET@HH:MM+DURATION, for example idp@10:30+30m", s)
	}
	o := Outage{Target: Target(target)}
	if o.Target != TargetIdP && o.Target != TargetAS {
		return Outage{}, fmt.Errorf("outage %q: the target is idp or as", s)
	}
	var err error
	if o.Start, err = ParseClock(at); err != nil {
		return Outage{}, fmt.Errorf("outage %q: %w", s, err)
	}
	if o.Length, err = time.ParseDuration(length); err != nil || o.Length <= 0 {
		return Outage{}, fmt.Errorf("outage %q: the duration %q is not a positive Go duration (30m, 2h)", s, length)
	}
	return o, nil
}
