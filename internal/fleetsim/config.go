package fleetsim

import (
	"errors"
	"fmt"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// Config is one simulation's inputs. [DefaultConfig] has sane values for
// every field.
type Config struct {
	// Seed makes the run reproducible: the same Config gives the same
	// result, to the request.
	Seed uint64
	// Daemons is the number of users, one daemon each.
	Daemons int
	// Servers is the number of MCP servers each user has configured.
	// Server i of every user is behind authorization server i.
	Servers int
	// Duration is the simulated time from midnight; at most 24 h (one
	// working day).
	Duration time.Duration
	// Bin is the width of the time series' buckets and of the rates the
	// summary reports.
	Bin time.Duration

	// TokenLifetime is the access tokens' lifetime.
	TokenLifetime time.Duration
	// JAGLifetime is the ID-JAG's: a grant sent later than this after the
	// exchange is refused with invalid_grant, and the broker mints a
	// fresh ID-JAG once.
	JAGLifetime time.Duration

	Usage Usage

	// IdP and AS are the model servers; every authorization server has
	// the AS settings.
	IdP, AS Server
	// IdPLimit and ASLimit are the daemons' client-side rate limits
	// (rate_limit and rate_burst of [idp], and of [[authorization_server]]
	// or [default_client]).
	IdPLimit, ASLimit upstream.Limit
	// Outages are windows in which a server answers 503.
	Outages []Outage
	// SteadyFrom and SteadyTo bound, as times of day, the window whose
	// median rate is the summary's steady rate (outages and the recovery
	// window after each are left out).
	SteadyFrom, SteadyTo time.Duration
	// RecoveryWindow is how long after an outage's end counts as its
	// recovery; zero means TokenLifetime.
	RecoveryWindow time.Duration
	// Latency is each upstream call's round trip.
	Latency time.Duration
}

// Usage is the working day of every user; each user draws their own times
// around these.
type Usage struct {
	// Start is the mean arrival time of day, StartSpread its standard
	// deviation (the morning rush).
	Start, StartSpread time.Duration
	// Hours is the working time, lunch not included.
	Hours time.Duration
	// Lunch is the mean start of lunch; it lasts 30 to 60 minutes.
	Lunch time.Duration
	// SuspendShare is the share of breaks (two coffee breaks and lunch)
	// during which the laptop is suspended; outside working hours it
	// always is.
	SuspendShare float64
	// UseShare is the share of a user's servers used that day at all.
	UseShare float64
	// Session and Gap are the mean lengths of a server's periods of use
	// and of the gaps between them; RequestEvery is the mean time between
	// two requests within a period of use.
	Session, Gap, RequestEvery time.Duration
	// CallerTimeout is the deadline of a caller's request.
	CallerTimeout time.Duration
	// NoBreaks makes the day one stretch of Hours from the arrival: no
	// coffee breaks, no lunch.
	NoBreaks bool
}

// Server is a model token endpoint.
type Server struct {
	// OrgLimit is the requests per minute the endpoint accepts from the
	// whole fleet (Okta counts per org and minute); beyond it, 429 with
	// Retry-After to the next minute. Zero: none.
	OrgLimit int
	// UserLimit is the requests per second accepted from one user
	// (Okta: 4 on /token); beyond it, 429 with Retry-After: 1. Zero: none.
	UserLimit int
	// Capacity is the requests per second the server can answer at all;
	// beyond it, 503 without Retry-After. Zero: unlimited.
	Capacity int
}

// Target names which servers an outage takes down.
type Target string

// Outage targets.
const (
	TargetIdP Target = "idp"
	TargetAS  Target = "as"
)

// Outage is a window in which a server answers 503 without Retry-After.
type Outage struct {
	Target Target
	// Start is the time of day; Length its duration.
	Start, Length time.Duration
}

// Bounds of a Config: beyond them a run would not fit in memory or time.
const (
	MaxDaemons = 1_000_000
	MaxServers = 64
	MaxOutages = 64
	minBin     = time.Second
)

// DefaultConfig is a working day of 1,000 users with five servers each and
// one-hour tokens against an IdP with Okta's per-user limit.
func DefaultConfig() Config {
	return Config{
		Seed: 1, Daemons: 1000, Servers: 5, Duration: 24 * time.Hour, Bin: time.Minute,
		TokenLifetime: time.Hour, JAGLifetime: 5 * time.Minute,
		Usage: Usage{
			Start: 8*time.Hour + 30*time.Minute, StartSpread: 40 * time.Minute, Hours: 8 * time.Hour,
			Lunch: 12 * time.Hour, SuspendShare: 0.5, UseShare: 0.8,
			Session: 30 * time.Minute, Gap: 45 * time.Minute, RequestEvery: 3 * time.Minute,
			CallerTimeout: 30 * time.Second,
		},
		IdP:        Server{UserLimit: 4},
		IdPLimit:   upstream.DefaultLimit,
		ASLimit:    upstream.DefaultLimit,
		SteadyFrom: 10 * time.Hour, SteadyTo: 16 * time.Hour,
		Latency: 100 * time.Millisecond,
	}
}

// Validate reports the first field out of its range.
func (c *Config) Validate() error {
	switch {
	case c.Daemons < 1 || c.Daemons > MaxDaemons:
		return fmt.Errorf("daemons: %d, must be between 1 and %d", c.Daemons, MaxDaemons)
	case c.Servers < 1 || c.Servers > MaxServers:
		return fmt.Errorf("servers: %d, must be between 1 and %d", c.Servers, MaxServers)
	case c.Duration <= 0 || c.Duration > 24*time.Hour:
		return fmt.Errorf("duration: %s, must be above 0 and at most 24h", c.Duration)
	case c.Bin < minBin || c.Bin > c.Duration:
		return fmt.Errorf("bin: %s, must be between %s and the duration", c.Bin, minBin)
	case c.TokenLifetime < time.Minute:
		return fmt.Errorf("token lifetime: %s, must be at least 1m", c.TokenLifetime)
	case c.JAGLifetime < time.Second:
		return fmt.Errorf("ID-JAG lifetime: %s, must be at least 1s", c.JAGLifetime)
	case c.Latency < 0 || c.Latency > time.Minute:
		return fmt.Errorf("latency: %s, must be between 0 and 1m", c.Latency)
	case len(c.Outages) > MaxOutages:
		return fmt.Errorf("%d outages, at most %d", len(c.Outages), MaxOutages)
	case c.SteadyFrom < 0 || c.SteadyTo <= c.SteadyFrom:
		return errors.New("steady window: its end must come after its start")
	case c.RecoveryWindow < 0:
		return errors.New("recovery window: must not be negative")
	}
	if err := c.Usage.validate(); err != nil {
		return err
	}
	for _, s := range []Server{c.IdP, c.AS} {
		if s.OrgLimit < 0 || s.UserLimit < 0 || s.Capacity < 0 {
			return errors.New("server limits must not be negative")
		}
	}
	for _, l := range []upstream.Limit{c.IdPLimit, c.ASLimit} {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	for _, o := range c.Outages {
		if o.Target != TargetIdP && o.Target != TargetAS {
			return fmt.Errorf("outage target %q: must be idp or as", o.Target)
		}
		if o.Start < 0 || o.Length <= 0 {
			return fmt.Errorf("outage at %s for %s: needs a start and a positive length", o.Start, o.Length)
		}
	}
	return nil
}

func (u *Usage) validate() error {
	switch {
	case u.Start < 0 || u.Start >= 24*time.Hour || u.StartSpread < 0:
		return errors.New("usage: start must be a time of day and its spread not negative")
	case u.Hours <= 0 || u.Hours > 16*time.Hour:
		return fmt.Errorf("usage: %s of work, must be above 0 and at most 16h", u.Hours)
	case u.SuspendShare < 0 || u.SuspendShare > 1 || u.UseShare < 0 || u.UseShare > 1:
		return errors.New("usage: shares must be between 0 and 1")
	case u.Session <= 0 || u.Gap <= 0 || u.RequestEvery < time.Second:
		return errors.New("usage: session and gap must be positive, requests at least 1s apart")
	case u.CallerTimeout < time.Second:
		return errors.New("usage: the caller timeout must be at least 1s")
	}
	return nil
}

// recoveryWindow is RecoveryWindow with its default.
func (c *Config) recoveryWindow() time.Duration {
	if c.RecoveryWindow > 0 {
		return c.RecoveryWindow
	}
	return c.TokenLifetime
}
