package hostile

import (
	"fmt"
	"strings"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// unreadStreams opens streams and never reads past their first message:
// 3,000 unread WatchTokens streams used to cost 504 MB. Each attacker
// tries 24 (WatchTokens with tokens, and health Watch) on 3 connections,
// while forcing refreshes so that every watcher has events to buffer.
func unreadStreams() *Attack {
	return &Attack{
		Name:     "unread-streams",
		What:     "6 processes each open 24 WatchTokens and health Watch streams they never read, and force refreshes so events pile up",
		Procs:    6,
		Duration: 3 * time.Second,
		Run: func(e *Env) *Outcome {
			o := newOutcome()
			ctx, cancel := untilCtx(e)
			defer cancel()
			var conns []*closer
			for range 3 {
				cc := dial(e)
				defer cc.Close()
				conns = append(conns, &closer{xaadv1.NewXaadServiceClient(cc), healthpb.NewHealthClient(cc)})
			}
			for i := range 24 {
				c := conns[i%3]
				var err error
				if i%2 == 0 {
					var w xaadv1.XaadService_WatchTokensClient
					if w, err = c.api.WatchTokens(ctx, &xaadv1.WatchTokensRequest{IncludeTokens: true}); err == nil {
						_, err = w.Recv()
					}
				} else {
					var w healthpb.Health_WatchClient
					if w, err = c.health.Watch(ctx, &healthpb.HealthCheckRequest{}); err == nil {
						_, err = w.Recv()
					}
				}
				if err != nil && e.over() {
					break
				}
				o.okOrLimit(err, "stream")
			}
			for !e.over() {
				_, err := conns[0].api.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.MCP, ForceRefresh: true})
				if err != nil && !e.over() {
					o.okOrLimit(err, "forced refresh")
				}
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			return o
		},
		Check: func(p *Phase) []string {
			open, refused := p.sum("stream: ok"), p.sum("stream: refused, LIMIT_EXCEEDED")
			var out []string
			if open > streamsTotal {
				out = append(out, fmt.Sprintf("unread-streams: %d streams open at once, more than the total of %d", open, streamsTotal))
			}
			if refused == 0 {
				out = append(out, "unread-streams: no stream was refused: "+strings.Join(p.kinds(), ", "))
			}
			return out
		},
	}
}

// closer is one attacker connection's two services.
type closer struct {
	api    xaadv1.XaadServiceClient
	health healthpb.HealthClient
}
