package hostile

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/internal/errinfo"
)

// Attack is one way of abusing the daemon, run as one phase.
type Attack struct {
	// Name identifies it on the command line and in reports.
	Name string
	// What says in a sentence what it does.
	What string
	// Procs is how many attacker processes run it at once.
	Procs int
	// Duration is how long the phase lasts at most (6 times as long in a
	// long run).
	Duration time.Duration
	// LongOnly attacks run only in a long run (they wait out a timeout).
	LongOnly bool
	// Prepare, if set, runs in the orchestrator before the attackers
	// start (a hostile server of its own, say); what it returns reaches
	// every attacker in Env.Args, and cleanup runs after the phase.
	Prepare func(t *Target) (args map[string]string, cleanup func(), err error)
	// Run is the attacker, in a process of its own. It returns when ctx
	// ends (at the phase's duration) or its work is done.
	Run func(e *Env) *Outcome
	// Check judges the phase in the orchestrator and returns the bounds
	// broken, a sentence each. Unexpected answers, the daemon's memory
	// and descriptors and the legitimate client are judged for every
	// attack; Check adds what is particular to this one.
	Check func(p *Phase) []string
}

// Env is what an attacker process is told.
type Env struct {
	Attack string
	Index  int // which of the attack's processes this is
	Socket string
	MCP    string // the testbed's MCP server
	Xaactl string
	Long   bool
	// Until is when the phase ends; Run stops by then.
	Until time.Time
	Args  map[string]string
}

// scale is n, or 4n in a long run.
func (e *Env) scale(n int) int {
	if e.Long {
		return 4 * n
	}
	return n
}

// over reports whether the phase has ended.
func (e *Env) over() bool { return !time.Now().Before(e.Until) }

// Outcome is what one attacker saw, counted by kind of answer.
type Outcome struct {
	Counts map[string]int `json:"counts"`
	// Examples holds the first message of each kind.
	Examples map[string]string `json:"examples"`
	// Unexpected lists answers the attack did not expect (the first 20).
	Unexpected []string `json:"unexpected"`

	mu sync.Mutex
}

func newOutcome() *Outcome {
	return &Outcome{Counts: map[string]int{}, Examples: map[string]string{}}
}

// add counts one answer of kind.
func (o *Outcome) add(kind, example string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Counts[kind]++
	if _, ok := o.Examples[kind]; !ok && example != "" {
		o.Examples[kind] = example
	}
}

// unexpected records an answer the attack did not expect.
func (o *Outcome) unexpected(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Counts["unexpected"]++
	if len(o.Unexpected) < 20 {
		o.Unexpected = append(o.Unexpected, fmt.Sprintf(format, args...))
	}
}

// expect counts err as kind when it has code, reason (empty: any) and a
// message containing want; as unexpected otherwise.
func (o *Outcome) expect(err error, kind string, code codes.Code, reason, want string) bool {
	st := status.Convert(err)
	r, _, _ := errinfo.FromStatus(st)
	if err != nil && st.Code() == code && (reason == "" || r == reason) && strings.Contains(st.Message(), want) {
		o.add(kind, st.Message())
		return true
	}
	return false
}

// okOrLimit counts success, LIMIT_EXCEEDED answers and the upstream rate
// limit's refusals (a request whose turn at the IdP comes after its
// deadline, README "Refresh and outages") under what, anything else as
// unexpected; it reports whether err was nil.
func (o *Outcome) okOrLimit(err error, what string) bool {
	switch {
	case err == nil:
		o.add(what+": ok", "")
		return true
	case o.expect(err, what+": refused, LIMIT_EXCEEDED", codes.ResourceExhausted, "LIMIT_EXCEEDED", "docs/limits.md"):
	case o.expect(err, what+": refused, upstream rate limit", codes.Unavailable, "", "the client-side rate limit has no slot"):
	default:
		o.unexpected("%s: %v", what, err)
	}
	return false
}

// Phase is one attack's run as the orchestrator saw it.
type Phase struct {
	Attack   *Attack
	Outcomes []*Outcome
	Took     time.Duration
	// Exchanges and Grants are the token exchanges and jwt-bearer grants
	// the testbed served during the phase.
	Exchanges, Grants int
	// Peak is the daemon's during the phase.
	Peak ProcStats
	// Note is what Check measured, for the report.
	Note string
}

// sum adds up kind over every attacker.
func (p *Phase) sum(kind string) int {
	n := 0
	for _, o := range p.Outcomes {
		n += o.Counts[kind]
	}
	return n
}

// kinds lists every kind of answer seen, with its total, for a report.
func (p *Phase) kinds() []string {
	totals := map[string]int{}
	for _, o := range p.Outcomes {
		for k, n := range o.Counts {
			totals[k] += n
		}
	}
	var out []string
	for k, n := range totals {
		out = append(out, fmt.Sprintf("%s ×%d", k, n))
	}
	slices.Sort(out)
	return out
}
