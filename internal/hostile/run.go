package hostile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config says what to attack with what.
type Config struct {
	// Xaad and Xaactl are the built binaries (see [Build]).
	Xaad, Xaactl string
	// Attacker is the executable the attackers run as: one whose main
	// calls [MaybeChild] first (xaad-hostile). Empty: this one.
	Attacker string
	// Long runs every phase 6 times as long, with 4 times the requests.
	Long bool
	// Only, when not empty, names the attacks to run.
	Only []string
	// Log receives progress; nil discards it.
	Log io.Writer
}

// Report is a run's result. Violations is empty when every bound held.
type Report struct {
	Phases []*Phase
	// Peak is the daemon's over the whole run (its VmHWM at the end).
	Peak ProcStats
	// Legit counts the legitimate client's calls by kind; LegitFailures
	// lists every one that failed.
	Legit         map[string]int
	LegitFailures []string
	Violations    []string
}

// Run starts the daemon, runs the attacks one phase after another while
// the legitimate client calls, and judges the run. An error means the run
// itself could not be made; a broken bound is a Violation.
func Run(cfg Config) (_ *Report, err error) {
	if cfg.Attacker == "" {
		if cfg.Attacker, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	t, err := startTarget(cfg.Xaad)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, t.Close()) }()
	s := &sampler{pid: t.PID}
	l := &legit{t: t, xaactl: cfg.Xaactl, calls: map[string]int{}}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() { s.run(stop, 50*time.Millisecond) })
	bg.Go(func() { l.run(stop) })
	r := &Report{}
	for _, a := range Attacks() {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, a.Name) || a.LongOnly && !cfg.Long {
			continue
		}
		fmt.Fprintf(logw, "attack %s: %s\n", a.Name, a.What)
		p, err := runPhase(t, a, cfg, s)
		if err != nil {
			close(stop)
			bg.Wait()
			return nil, fmt.Errorf("attack %s: %w", a.Name, err)
		}
		fmt.Fprintf(logw, "  %s; took %s, %d exchanges, daemon peak %s, %d descriptors\n",
			strings.Join(p.kinds(), ", "), p.Took.Round(time.Millisecond), p.Exchanges, mib(p.Peak.HWM), p.Peak.FDs)
		r.Phases = append(r.Phases, p)
		r.Violations = append(r.Violations, unexpectedAnswers(p)...)
		if a.Check != nil {
			r.Violations = append(r.Violations, a.Check(p)...)
		}
	}
	close(stop)
	bg.Wait()
	r.Peak = s.sample()
	r.Legit, r.LegitFailures = l.calls, l.failures
	r.Violations = append(r.Violations, r.judge()...)
	return r, nil
}

// runPhase runs one attack's processes to their end and collects what
// they and the testbed saw.
func runPhase(t *Target, a *Attack, cfg Config, s *sampler) (*Phase, error) {
	e := Env{Attack: a.Name, Socket: t.Socket, MCP: t.MCP, Xaactl: cfg.Xaactl, Long: cfg.Long}
	if a.Prepare != nil {
		args, cleanup, err := a.Prepare(t)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		e.Args = args
	}
	d := a.Duration
	if cfg.Long {
		d *= 6
	}
	before := t.TB.Counters()
	start := time.Now()
	e.Until = start.Add(d)
	var procs []*attacker
	for i := range a.Procs {
		e.Index = i
		p, err := spawn(cfg.Attacker, e)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	ph := &Phase{Attack: a}
	var errs []error
	for _, p := range procs {
		o, err := p.wait(e.Until)
		errs = append(errs, err)
		if o != nil {
			ph.Outcomes = append(ph.Outcomes, o)
		}
	}
	after := t.TB.Counters()
	ph.Took = time.Since(start)
	ph.Exchanges, ph.Grants = after.TokenExchanges-before.TokenExchanges, after.JWTBearerGrants-before.JWTBearerGrants
	ph.Peak = s.sample()
	return ph, errors.Join(errs...)
}

// judge holds the whole run to the bounds every attack shares.
func (r *Report) judge() []string {
	var out []string
	if r.Peak.HWM > MaxRSS {
		out = append(out, fmt.Sprintf("the daemon's peak resident memory was %s, over the bound of %s", mib(r.Peak.HWM), mib(MaxRSS)))
	}
	if r.Peak.FDs > MaxFDs {
		out = append(out, fmt.Sprintf("the daemon held %d descriptors, over the bound of %d", r.Peak.FDs, MaxFDs))
	}
	for _, f := range r.LegitFailures {
		out = append(out, "a legitimate call failed: "+f)
	}
	for _, what := range []string{"GetToken", "Status", "xaactl token", "xaactl proxy tools/call"} {
		if r.Legit[what] == 0 {
			out = append(out, "the legitimate client never made a call: "+what)
		}
	}
	return out
}

// Summary is the report in a few lines.
func (r *Report) Summary() string {
	var b strings.Builder
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "%s: %s; %s, %d exchanges, %d grants\n", p.Attack.Name, strings.Join(p.kinds(), ", "), p.Took.Round(time.Millisecond), p.Exchanges, p.Grants)
		if p.Note != "" {
			fmt.Fprintf(&b, "  %s\n", p.Note)
		}
	}
	var legit []string
	for k, n := range r.Legit {
		legit = append(legit, fmt.Sprintf("%s ×%d", k, n))
	}
	slices.Sort(legit)
	fmt.Fprintf(&b, "legitimate client: %s; %d failed\n", strings.Join(legit, ", "), len(r.LegitFailures))
	fmt.Fprintf(&b, "daemon: peak %s resident (bound %s), at most %d descriptors (bound %d)\n", mib(r.Peak.HWM), mib(MaxRSS), r.Peak.FDs, MaxFDs)
	return b.String()
}
