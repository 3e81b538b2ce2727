package peercred_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/peercred"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f fakeStream) Context() context.Context { return f.ctx }

func TestUIDInterceptor(t *testing.T) {
	withPeer := func(ai any) context.Context {
		p := &peer.Peer{Addr: &net.UnixAddr{Name: "@", Net: "unix"}}
		if ai != nil {
			p.AuthInfo = ai.(peercred.AuthInfo)
		}
		return peer.NewContext(context.Background(), p)
	}
	tests := []struct {
		name    string
		ctx     context.Context
		allowed bool
		logs    string
	}{
		{"same uid", withPeer(peercred.AuthInfo{Cred: peercred.Cred{UID: 1000, PID: 7}}), true, ""},
		{"other uid", withPeer(peercred.AuthInfo{Cred: peercred.Cred{UID: 0, PID: 42}}), false, "uid=0 pid=42"},
		{"no peer", context.Background(), false, "no peer credentials"},
		{"no auth info", withPeer(nil), false, "no peer credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := newLogger()
			unary, stream := peercred.UIDInterceptor(1000, logger)
			called := 0
			_, uerr := unary(tt.ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.S/M"},
				func(context.Context, any) (any, error) { called++; return nil, nil })
			serr := stream(nil, fakeStream{ctx: tt.ctx}, &grpc.StreamServerInfo{FullMethod: "/x.S/W"},
				func(any, grpc.ServerStream) error { called++; return nil })
			if tt.allowed {
				if uerr != nil || serr != nil || called != 2 {
					t.Fatalf("allowed caller refused: %v, %v, handler calls %d", uerr, serr, called)
				}
				return
			}
			for _, err := range []error{uerr, serr} {
				if status.Code(err) != codes.PermissionDenied {
					t.Errorf("err = %v, want PermissionDenied", err)
				}
			}
			if called != 0 {
				t.Errorf("handler ran %d times for a refused caller", called)
			}
			if !strings.Contains(logs.String(), tt.logs) || !strings.Contains(logs.String(), "method=/x.S/M") {
				t.Errorf("log lacks %q and the method: %s", tt.logs, logs)
			}
		})
	}
}

type otherAuth struct{}

func (otherAuth) AuthType() string { return "other" }

// Another transport's AuthInfo must not be read as ours.
func TestFromContextForeignAuthInfo(t *testing.T) {
	ctx := peer.NewContext(context.Background(), &peer.Peer{AuthInfo: otherAuth{}})
	if _, ok := peercred.FromContext(ctx); ok {
		t.Fatal("FromContext accepted another transport's AuthInfo")
	}
}
