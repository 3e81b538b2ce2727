package hostile

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// idleConnections holds connections open without using them, from more
// processes than the total admits: 6,800 idle connections (600 under a
// 1,024-descriptor limit) used to lock every client out. Each attacker
// holds 6 gRPC connections and 2 that never send a byte, tries one over
// its share, and reconnects whatever the daemon closes.
func idleConnections() *Attack {
	return &Attack{
		Name:     "idle-connections",
		What:     "20 processes each hold 6 idle gRPC connections and 2 silent ones, try a 9th, and reconnect whatever is closed",
		Procs:    connsTotal/connsPerProcess + 4,
		Duration: 4 * time.Second,
		Run: func(e *Env) *Outcome {
			o := newOutcome()
			ctx, cancel := untilCtx(e)
			defer cancel()
			var conns []*grpc.ClientConn
			for range connsPerProcess - 2 {
				cc := dial(e)
				defer cc.Close()
				conns = append(conns, cc)
				check(ctx, o, e, cc, "connect")
			}
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() { holdSilent(ctx, o, e) })
			}
			over := dial(e)
			check(ctx, o, e, over, "one over the share")
			over.Close()
			for !e.over() {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				for _, cc := range conns {
					if cc.GetState() != connectivity.Ready && !e.over() {
						check(ctx, o, e, cc, "reconnect")
					}
				}
			}
			wg.Wait()
			return o
		},
		Check: func(p *Phase) []string {
			if p.sum("one over the share: refused, LIMIT_EXCEEDED") == 0 {
				return []string{"idle-connections: no attacker's connection over its share was refused: " + strings.Join(p.kinds(), ", ")}
			}
			return nil
		},
	}
}

// check makes a health call on cc: success or a limit, nothing else. A
// connection closed under the call (Unavailable) was refused without a
// word (more refusals are open than the daemon keeps, docs/limits.md) or
// closed to make room before this attacker used it.
func check(ctx context.Context, o *Outcome, e *Env, cc *grpc.ClientConn, what string) {
	_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	switch {
	case err != nil && e.over():
	case o.expect(err, what+": connection closed by the daemon", codes.Unavailable, "", ""):
	default:
		o.okOrLimit(err, what)
	}
}

// holdSilent keeps a connection open that never sends a byte, and opens
// another whenever the daemon closes it.
func holdSilent(ctx context.Context, o *Outcome, e *Env) {
	for !e.over() {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", e.Socket)
		if err != nil {
			if !e.over() {
				o.unexpected("silent connection: %v", err)
			}
			return
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		stop()
		c.Close()
		if !e.over() {
			o.add("silent connection closed by the daemon", "")
			time.Sleep(50 * time.Millisecond) // greedy, not a busy loop
		}
	}
}

// idleTimeout waits out the idle and handshake timeouts: a connection
// with no call for 2 minutes, and one that never sends its HTTP/2 preface,
// must both be closed by the daemon. Long runs only.
func idleTimeout() *Attack {
	return &Attack{
		Name:     "idle-timeout",
		What:     "one idle gRPC connection and one silent one, held until the daemon closes them (2 minutes, 10 s)",
		Procs:    1,
		Duration: 25 * time.Second,
		LongOnly: true,
		Run: func(e *Env) *Outcome {
			o := newOutcome()
			ctx, cancel := untilCtx(e)
			defer cancel()
			cc := dial(e)
			defer cc.Close()
			check(ctx, o, e, cc, "connect")
			start := time.Now()
			var wg sync.WaitGroup
			wg.Go(func() {
				var d net.Dialer
				c, err := d.DialContext(ctx, "unix", e.Socket)
				if err != nil {
					o.unexpected("silent connection: %v", err)
					return
				}
				defer context.AfterFunc(ctx, func() { c.Close() })()
				if _, err := io.Copy(io.Discard, c); err == nil && !e.over() {
					o.add("silent connection closed by the daemon", fmt.Sprintf("after %s", time.Since(start).Round(100*time.Millisecond)))
				}
			})
			// GetState does not connect: an idle channel stays idle.
			for cc.GetState() == connectivity.Ready && !e.over() {
				cc.WaitForStateChange(ctx, connectivity.Ready)
			}
			if !e.over() {
				o.add("idle connection closed by the daemon", fmt.Sprintf("after %s", time.Since(start).Round(100*time.Millisecond)))
			}
			wg.Wait()
			return o
		},
		Check: func(p *Phase) []string {
			var out []string
			for _, kind := range []string{"silent connection closed by the daemon", "idle connection closed by the daemon"} {
				if p.sum(kind) == 0 {
					out = append(out, fmt.Sprintf("idle-timeout: no %s within %s", strings.TrimSuffix(kind, " by the daemon"), p.Took.Round(time.Second)))
				}
			}
			return out
		},
	}
}
