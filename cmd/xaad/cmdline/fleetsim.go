package cmdline

import (
	"flag"
	"io"
	"strings"
	"time"
)

// FleetSimHelp is the help of `xaad fleet-sim`.
const FleetSimHelp = `Usage: xaad fleet-sim [flags]

Simulates a fleet of xaad daemons through a working day against a model IdP and
the authorization servers of their MCP servers, to size a rollout before it meets
the IdP's rate limits. Each simulated daemon runs xaad's real refresh queue and
client-side rate limit under a virtual clock; users arrive over the morning, take
breaks and lunch (laptops suspended and resumed), and use their servers on and
off. Nothing is sent over the network. It writes PREFIX.csv (requests per second
at the IdP and the authorization servers, per bin), PREFIX.png (a plot of them)
and PREFIX.json (the summary, also printed): steady and peak rate, 429s and 429
cascades, upstream calls per token used, the share of requests that waited, and
after each outage the recovery's peak and calls per token needed. The same flags
and --seed give the same result. docs/fleet.md explains the figures.

Flags:
`

// FleetSimOptions are the flags of `xaad fleet-sim`; cmd/xaad turns them
// into a simulation.
type FleetSimOptions struct {
	Daemons, Servers                    int
	Seed                                uint64
	Duration, Bin                       time.Duration
	TokenLifetime, JAGLifetime          time.Duration
	Outages                             Strings
	IdPOrgLimit, IdPUserLimit, IdPCap   int
	ASOrgLimit, ASUserLimit, ASCap      int
	RateLimit, ASRateLimit              float64
	RateBurst, ASRateBurst              int
	WorkStart                           string
	StartSpread, WorkHours              time.Duration
	SuspendShare, UseShare              float64
	Session, Gap, RequestEvery, Timeout time.Duration
	Steady                              string
	RecoveryWindow                      time.Duration
	Out, Title                          string
	Quiet                               bool
}

// Strings is a flag that may be given more than once.
type Strings []string

func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set adds one value.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// FleetSimFlags returns the flag set of `xaad fleet-sim` and the options
// it fills. The defaults are those of internal/fleetsim's DefaultConfig
// (cmd/xaad's tests compare them).
func FleetSimFlags(w io.Writer) (*flag.FlagSet, *FleetSimOptions) {
	fs := newFlagSet("fleet-sim", FleetSimHelp, w, true)
	o := new(FleetSimOptions)
	fs.IntVar(&o.Daemons, "daemons", 1000, "users, one daemon each")
	fs.IntVar(&o.Servers, "servers", 5, "MCP servers per user, each behind its own authorization server")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of every random draw: the same flags and seed give the same result")
	fs.DurationVar(&o.Duration, "duration", 24*time.Hour, "simulated time from midnight, at most 24h")
	fs.DurationVar(&o.Bin, "bin", time.Minute, "width of the time series' bins and of the rates in the summary")
	fs.DurationVar(&o.TokenLifetime, "token-lifetime", time.Hour, "lifetime of the access tokens")
	fs.DurationVar(&o.JAGLifetime, "id-jag-lifetime", 5*time.Minute, "lifetime of the ID-JAGs: a grant sent later is refused and the exchange done again once")
	fs.Var(&o.Outages, "outage", "an outage, TARGET@HH:MM+DURATION with TARGET idp or as (every authorization server), e.g. idp@10:30+30m; repeatable")
	fs.IntVar(&o.IdPOrgLimit, "idp-org-limit", 0, "requests per minute the IdP accepts from the whole fleet (429 beyond); 0: none")
	fs.IntVar(&o.IdPUserLimit, "idp-user-limit", 4, "requests per second the IdP accepts from one user (Okta: 4); 0: none")
	fs.IntVar(&o.IdPCap, "idp-capacity", 0, "requests per second the IdP can answer (503 beyond); 0: unlimited")
	fs.IntVar(&o.ASOrgLimit, "as-org-limit", 0, "requests per minute each authorization server accepts from the fleet; 0: none")
	fs.IntVar(&o.ASUserLimit, "as-user-limit", 0, "requests per second each authorization server accepts from one user; 0: none")
	fs.IntVar(&o.ASCap, "as-capacity", 0, "requests per second each authorization server can answer; 0: unlimited")
	fs.Float64Var(&o.RateLimit, "rate-limit", 2, "each daemon's rate_limit in [idp]: requests per second to the IdP")
	fs.IntVar(&o.RateBurst, "rate-burst", 2, "each daemon's rate_burst in [idp]")
	fs.Float64Var(&o.ASRateLimit, "as-rate-limit", 2, "each daemon's rate_limit for an authorization server ([[authorization_server]] or [default_client])")
	fs.IntVar(&o.ASRateBurst, "as-rate-burst", 2, "each daemon's rate_burst for an authorization server")
	fs.StringVar(&o.WorkStart, "work-start", "08:30", "mean arrival time of day, HH:MM")
	fs.DurationVar(&o.StartSpread, "start-spread", 40*time.Minute, "standard deviation of the arrival times (the morning rush)")
	fs.DurationVar(&o.WorkHours, "work-hours", 8*time.Hour, "working time, lunch not included")
	fs.Float64Var(&o.SuspendShare, "suspend-share", 0.5, "share of breaks (two coffee breaks, lunch) during which the laptop sleeps")
	fs.Float64Var(&o.UseShare, "use-share", 0.8, "share of a user's servers used that day at all")
	fs.DurationVar(&o.Session, "session", 30*time.Minute, "mean length of a period of use of one server")
	fs.DurationVar(&o.Gap, "gap", 45*time.Minute, "mean gap between two periods of use of one server")
	fs.DurationVar(&o.RequestEvery, "request-every", 3*time.Minute, "mean time between two requests for a server's token within a period of use")
	fs.DurationVar(&o.Timeout, "caller-timeout", 30*time.Second, "deadline of a caller's request")
	fs.StringVar(&o.Steady, "steady", "10:00-16:00", "window (HH:MM-HH:MM) whose median rate is the steady rate, outages and recoveries left out")
	fs.DurationVar(&o.RecoveryWindow, "recovery-window", 0, "how long after an outage counts as its recovery (default: the token lifetime)")
	fs.StringVar(&o.Out, "out", "fleet-sim", "write `PREFIX`.csv, PREFIX.png and PREFIX.json")
	fs.StringVar(&o.Title, "title", "", "title of the plot (default: the fleet's size)")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress on standard error")
	return fs, o
}
