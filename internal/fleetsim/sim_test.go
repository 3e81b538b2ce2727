package fleetsim

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func small(daemons int) Config {
	c := DefaultConfig()
	c.Daemons = daemons
	return c
}

func run(t *testing.T, c Config) *Result {
	t.Helper()
	r, err := Run(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSameSeedSameResult: a run is reproducible from its inputs, to the
// request, and another seed gives another day.
func TestSameSeedSameResult(t *testing.T) {
	c := small(300)
	c.IdP.OrgLimit = 30
	c.Outages = []Outage{{Target: TargetIdP, Start: 10 * time.Hour, Length: 20 * time.Minute}}
	a, b := run(t, c), run(t, c)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs with seed %d differ:\n%+v\n%+v", c.Seed, a.Summary, b.Summary)
	}
	c.Seed++
	if d := run(t, c); reflect.DeepEqual(a.Summary, d.Summary) {
		t.Fatal("seeds 1 and 2 gave the same summary")
	}
}

// TestLimitedIdP: against an org-wide limit far below the fleet's need,
// the model IdP turns requests away with 429, yet no daemon sends again
// before the Retry-After the model sent it, and in no minute does the IdP
// accept more than its limit.
func TestLimitedIdP(t *testing.T) {
	c := small(500)
	c.IdP.OrgLimit = 20
	r := run(t, c)
	s := r.Summary
	if s.IdP429 == 0 {
		t.Fatalf("a limit of %d/min met no 429: %+v", c.IdP.OrgLimit, s)
	}
	if s.Cascades429 != 0 {
		t.Errorf("%d requests sent before the Retry-After of a 429", s.Cascades429)
	}
	for _, row := range r.Series {
		sent, refused := math.Round(row.IdP*60), math.Round(row.IdP429*60)
		if sent-refused > float64(c.IdP.OrgLimit) {
			t.Errorf("%s: the IdP accepted %v requests, its limit is %d/min", clock(row.Start), sent-refused, c.IdP.OrgLimit)
		}
	}
	if s.ErrorsWhileUp == 0 {
		t.Errorf("a fleet throttled to %d/min saw no errors: the limit did not bite", c.IdP.OrgLimit)
	}
}

// TestPerUserLimit: the daemons' own rate limit (2/s, burst 2) keeps
// every user under Okta's 4 per second, so the per-user limit never
// answers 429, even with eight servers started cold at once.
func TestPerUserLimit(t *testing.T) {
	c := small(200)
	c.Servers = 8
	c.Usage.StartSpread = 0
	c.Usage.Gap = time.Millisecond // every server asked for at arrival
	if s := run(t, c).Summary; s.IdP429 != 0 || s.Errors != 0 {
		t.Errorf("per-user limit: %d 429s, %d errors", s.IdP429, s.Errors)
	}
	// With the client-side limit raised past it, the IdP's 429s show up,
	// and are still never answered early.
	c.IdPLimit.Rate, c.IdPLimit.Burst = 50, 50
	s := run(t, c).Summary
	if s.IdP429 == 0 || s.Cascades429 != 0 {
		t.Errorf("without the client-side limit: %d 429s (want some), %d cascades (want none)", s.IdP429, s.Cascades429)
	}
}

// TestOneServerAllDay: one user using one server every minute or so for
// 8.5 hours without a break. Every token is used, so the calls per token
// used are 1; the tokens are refreshed once a third of their hour is
// left (+-10%), about every 40 minutes, and the minimum is the 9 token
// lifetimes that 8.5 hours span; only the very first request waited.
func TestOneServerAllDay(t *testing.T) {
	c := small(1)
	c.Servers = 1
	c.Usage = Usage{Start: 9 * time.Hour, Hours: 8*time.Hour + 30*time.Minute, UseShare: 1, Session: 100 * time.Hour,
		Gap: time.Second, RequestEvery: time.Minute, CallerTimeout: 30 * time.Second, NoBreaks: true}
	s := run(t, c).Summary
	if s.CallsPerTokenUsed != 1 || s.TokensObtained != s.TokensUsed || s.IdPCalls != s.TokensObtained {
		t.Errorf("calls per token used %v: %d calls, %d tokens got, %d used", s.CallsPerTokenUsed, s.IdPCalls, s.TokensObtained, s.TokensUsed)
	}
	if s.MinTokens != 9 {
		t.Errorf("minimum %d tokens, want 9", s.MinTokens)
	}
	// 8.5 h / (40 min +-4 min), plus the first.
	if s.TokensObtained < 12 || s.TokensObtained > 15 {
		t.Errorf("%d tokens in 8.5 h of 1 h tokens refreshed at 2/3 of their life", s.TokensObtained)
	}
	if waited := math.Round(s.WaitShare * float64(s.Requests)); waited != 1 || s.Errors != 0 {
		t.Errorf("%v of %d requests waited (want the first only), %d errors", waited, s.Requests, s.Errors)
	}
}

// TestQuietFleet: without limits or outages nobody gets an error, and
// the steady rate is what the tokens in use need: about one exchange per
// used server per 40 minutes.
func TestQuietFleet(t *testing.T) {
	s := run(t, small(500)).Summary
	if s.Errors != 0 || s.IdP429 != 0 {
		t.Errorf("%d errors, %d 429s without limits or outages", s.Errors, s.IdP429)
	}
	if s.SteadyRPS <= 0 || s.PeakRPS < s.SteadyRPS {
		t.Errorf("steady %v/s, peak %v/s", s.SteadyRPS, s.PeakRPS)
	}
	// At most every server of every user in use, each refreshed every
	// 36 minutes at the earliest.
	if most := 500.0 * 5 / (36 * 60); s.SteadyRPS > most {
		t.Errorf("steady %v/s, more than the %v/s every token refreshed would need", s.SteadyRPS, most)
	}
}

// TestOutageRecovery: an IdP outage fails callers only while it lasts,
// and the recovery is measured after its end.
func TestOutageRecovery(t *testing.T) {
	c := small(500)
	c.Outages = []Outage{{Target: TargetIdP, Start: 10*time.Hour + 30*time.Minute, Length: 30 * time.Minute}}
	s := run(t, c).Summary
	if s.Errors == 0 || s.ErrorsWhileUp != 0 {
		t.Errorf("%d errors in all, %d while the IdP was up", s.Errors, s.ErrorsWhileUp)
	}
	if len(s.Recoveries) != 1 {
		t.Fatalf("recoveries: %+v", s.Recoveries)
	}
	rec := s.Recoveries[0]
	if rec.OutageCalls == 0 || rec.TokensNeeded == 0 || rec.PeakRPS <= 0 {
		t.Errorf("recovery: %+v", rec)
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Daemons = 0 },
		func(c *Config) { c.Duration = 25 * time.Hour },
		func(c *Config) { c.Bin = time.Millisecond },
		func(c *Config) { c.IdPLimit.Rate = -1 },
		func(c *Config) { c.Outages = []Outage{{Target: "dns", Start: time.Hour, Length: time.Minute}} },
		func(c *Config) { c.Usage.UseShare = 2 },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if _, err := Run(c, nil); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
}

func TestParseOutage(t *testing.T) {
	o, err := ParseOutage("idp@10:30+30m")
	if err != nil || o != (Outage{Target: TargetIdP, Start: 10*time.Hour + 30*time.Minute, Length: 30 * time.Minute}) {
		t.Errorf("got %+v, %v", o, err)
	}
	for _, s := range []string{"idp@10:30", "x@10:30+1m", "as@25:00+1m", "as@10:00+-1m", "as10:00+1m"} {
		if _, err := ParseOutage(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

// TestLazyUsedIsExact: telling the queue of requests lazily (sim.flush)
// gives the same run, to the request, as telling it of every request the
// way the broker does, in days that park and wake tokens, fail, retry,
// meet 429s and resume laptops during outages. With more servers than
// Queue.Run's bound of refreshes at once, and flights slow enough to fill
// it, Due leaves due entries in the heap and the loop waits for a flight
// to end: no other day here reaches that bound.
func TestLazyUsedIsExact(t *testing.T) {
	quiet := small(300)
	outage := small(300)
	outage.Outages = []Outage{
		{Target: TargetIdP, Start: 10 * time.Hour, Length: 30 * time.Minute},
		{Target: TargetAS, Start: 14 * time.Hour, Length: 10 * time.Minute},
	}
	limited := small(300)
	limited.IdP.OrgLimit, limited.AS.OrgLimit = 25, 40
	short := small(60)
	short.TokenLifetime, short.Usage.RequestEvery, short.Usage.Gap = 5*time.Minute, 20*time.Second, 7*time.Minute
	short.Outages = []Outage{{Target: TargetIdP, Start: 11 * time.Hour, Length: 3 * time.Minute}}
	bound := small(20)
	bound.Servers = 2 * parallel
	bound.TokenLifetime, bound.Latency = 5*time.Minute, 10*time.Second
	bound.Usage.RequestEvery, bound.Usage.Gap = 20*time.Second, time.Minute
	bound.Outages = []Outage{{Target: TargetAS, Start: 13 * time.Hour, Length: 20 * time.Minute}}
	for name, c := range map[string]Config{"quiet": quiet, "outage": outage, "limited": limited, "short tokens": short, "at the parallel bound": bound} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			lazy, eager := newSim(c), newSim(c)
			eager.eager = true
			lazy.loop(nil)
			eager.loop(nil)
			a, b := lazy.result(), eager.result()
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("lazy and eager telling differ:\n%+v\n%+v", a.Summary, b.Summary)
			}
			if a.Summary.Requests == 0 || a.Summary.TokensObtained == 0 {
				t.Fatalf("an empty day: %+v", a.Summary)
			}
		})
	}
}
