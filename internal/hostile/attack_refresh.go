package hostile

import (
	"fmt"
	"strings"
	"time"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// forceFlood repeats force_refresh for one token as fast as the daemon
// answers: 2,000 of them used to cause 2,000 token exchanges and 2,000
// grants in 17 s.
func forceFlood() *Attack {
	return &Attack{
		Name:     "force-flood",
		What:     "2 processes with 4 callers each force a refresh of one token, again and again",
		Procs:    2,
		Duration: 4 * time.Second,
		Run: func(e *Env) *Outcome {
			ss := newSession(e)
			defer ss.end()
			o, rpc, ctx := ss.o, ss.rpc, ss.ctx
			workers(e, 4, func(int, int) bool {
				_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.MCP, ForceRefresh: true})
				if err == nil || !e.over() {
					o.okOrLimit(err, "forced refresh")
				}
				return true
			})
			return o
		},
		Check: func(p *Phase) []string {
			// Each process's budget: 10 in a row, then one per 6 s.
			allowed := p.Attack.Procs * (forceBurst + int(p.Took/forceEvery) + 1)
			if p.Exchanges > allowed {
				return []string{fmt.Sprintf("force-flood: %d forced requests in %s caused %d token exchanges; the budget allows %d (%s)",
					p.sum("forced refresh: ok")+p.sum("forced refresh: refused, LIMIT_EXCEEDED"), p.Took.Round(time.Millisecond), p.Exchanges, allowed, strings.Join(p.kinds(), ", "))}
			}
			if p.sum("forced refresh: refused, LIMIT_EXCEEDED") == 0 {
				return []string{"force-flood: no forced refresh was throttled: " + strings.Join(p.kinds(), ", ")}
			}
			return nil
		},
	}
}

// scopeSets asks one server for hundreds of different scope sets: 500
// used to make 500 tokens, all refreshed in the background.
func scopeSets() *Attack {
	return &Attack{
		Name:     "scope-sets",
		What:     "2 processes each ask the MCP server for 100 different scope sets (400 in a long run)",
		Procs:    2,
		Duration: 20 * time.Second,
		Run: func(e *Env) *Outcome {
			ss := newSession(e)
			defer ss.end()
			o, rpc, ctx := ss.o, ss.rpc, ss.ctx
			for i := range e.scale(100) {
				if e.over() {
					break
				}
				_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.MCP, Scopes: []string{"tools.read", fmt.Sprintf("a%d-s%d", e.Index, i)}})
				if err != nil && e.over() {
					break
				}
				o.okOrLimit(err, "scope set")
			}
			return o
		},
		Check: func(p *Phase) []string {
			var out []string
			for i, o := range p.Outcomes {
				if n := o.Counts["scope set: ok"]; n > scopeSetsPerProc {
					out = append(out, fmt.Sprintf("scope-sets: attacker %d got tokens for %d scope sets, more than the %d per process", i, n, scopeSetsPerProc))
				}
			}
			if max := scopeSetsPerProc * p.Attack.Procs; p.Exchanges > max {
				out = append(out, fmt.Sprintf("scope-sets: %d token exchanges, more than %d (%d scope sets for each of %d processes)", p.Exchanges, max, scopeSetsPerProc, p.Attack.Procs))
			}
			return out
		},
	}
}
