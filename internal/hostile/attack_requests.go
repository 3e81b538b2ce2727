package hostile

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// hugeRequests sends what used to grow the daemon by gigabytes: 4 MiB
// resource URLs (40 took it from 20 MB to 1.57 GB), URLs just over the
// bound, a thousand scopes, and Status all along.
func hugeRequests() *Attack {
	return &Attack{
		Name:     "huge-requests",
		What:     "GetToken and AddServer with 4 MiB and 5 KiB URLs and 1,000 scopes from 16 callers at once, and Status",
		Procs:    2,
		Duration: 3 * time.Second,
		Run: func(e *Env) *Outcome {
			ss := newSession(e)
			defer ss.end()
			o, rpc, ctx := ss.o, ss.rpc, ss.ctx
			huge := "https://mcp.example/" + strings.Repeat("a", 4<<20)
			long := e.MCP + "/" + strings.Repeat("a", 5000)
			var many []string
			for i := range 1000 {
				many = append(many, fmt.Sprint("s", i))
			}
			workers(e, 16, func(w, round int) bool {
				switch (w + round) % 5 {
				case 0:
					_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: huge})
					expectOr(o, e, err, "4 MiB URL: refused by gRPC", codes.ResourceExhausted, "", "larger than max")
				case 1:
					_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: long})
					expectOr(o, e, err, "5 KiB URL: INVALID_ARGUMENT", codes.InvalidArgument, "INVALID_ARGUMENT", "at most 4096")
				case 2:
					_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.MCP, Scopes: many})
					expectOr(o, e, err, "1,000 scopes: INVALID_ARGUMENT", codes.InvalidArgument, "INVALID_ARGUMENT", "at most 32")
				case 3:
					_, err := rpc.AddServer(ctx, &xaadv1.AddServerRequest{Url: long})
					expectOr(o, e, err, "AddServer 5 KiB URL: INVALID_ARGUMENT", codes.InvalidArgument, "INVALID_ARGUMENT", "at most 4096")
				default:
					st, err := rpc.Status(ctx, &xaadv1.StatusRequest{})
					switch {
					case err != nil && !e.over():
						o.unexpected("Status: %v", err)
					case err == nil && proto.Size(st) > 4<<20:
						o.unexpected("a Status reply of %d bytes", proto.Size(st))
					case err == nil:
						o.add("Status: ok", "")
					}
				}
				return true
			})
			return o
		},
		Check: func(p *Phase) []string {
			if p.sum("4 MiB URL: refused by gRPC") == 0 || p.sum("5 KiB URL: INVALID_ARGUMENT") == 0 {
				return []string{"huge-requests: no request was refused as the limits say: " + strings.Join(p.kinds(), ", ")}
			}
			return nil
		},
	}
}

// expectOr counts err as kind when it matches; an error because the
// phase ended is not counted; anything else is unexpected.
func expectOr(o *Outcome, e *Env, err error, kind string, code codes.Code, reason, want string) {
	if o.expect(err, kind, code, reason, want) || e.over() {
		return
	}
	o.unexpected("%s: got %v", kind, err)
}
