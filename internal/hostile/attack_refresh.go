package hostile

import (
	"fmt"
	"strings"
	"sync"
	"time"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// forceFlood repeats force_refresh for one token: 2,000 of them used to
// cause 2,000 token exchanges and 2,000 grants in 17 s.
func forceFlood() *Attack {
	return &Attack{
		Name:     "force-flood",
		What:     "2 processes with 20 callers each force a refresh of one token 500 times (2,000 in a long run)",
		Procs:    2,
		Duration: 20 * time.Second,
		Run: func(e *Env) *Outcome {
			ss := newSession(e)
			defer ss.end()
			o, rpc, ctx := ss.o, ss.rpc, ss.ctx
			var mu sync.Mutex
			left, tokens := e.scale(500), map[string]bool{}
			workers(e, 20, func(int, int) bool {
				mu.Lock()
				if left == 0 {
					mu.Unlock()
					return false
				}
				left--
				mu.Unlock()
				tok, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.MCP, ForceRefresh: true})
				if err != nil && e.over() {
					return false
				}
				if o.okOrLimit(err, "forced refresh") {
					mu.Lock()
					tokens[tok.GetAccessToken()] = true
					mu.Unlock()
				}
				return true
			})
			o.add("distinct tokens", "")
			o.Counts["distinct tokens"] = len(tokens)
			return o
		},
		Check: func(p *Phase) []string {
			// One forced refresh per window, and one more for the window
			// the phase started in.
			allowed := int(p.Took/forceWindow) + 2
			if p.Exchanges > allowed {
				return []string{fmt.Sprintf("force-flood: %d forced requests in %s caused %d token exchanges; the coalescing allows %d (%s)",
					p.sum("forced refresh: ok")+p.sum("forced refresh: refused, LIMIT_EXCEEDED"), p.Took.Round(time.Millisecond), p.Exchanges, allowed, strings.Join(p.kinds(), ", "))}
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
