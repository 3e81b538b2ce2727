package peercred

import (
	"context"

	"google.golang.org/grpc"
)

// ConnInterceptors return server interceptors for a server whose
// [Listener] has a [Limiter]. A call on a connection the limiter refused
// fails with refuse(why): refuse makes the status the caller sees (its code
// and words are the server's business). Any other call marks its
// connection busy while it runs, so the limiter never closes it to make
// room for another. Put them before every interceptor that does work for
// the call (an audit that should record refusals may come first).
func ConnInterceptors(refuse func(*LimitError) error) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		end, err := beginCall(ctx, refuse)
		if err != nil {
			return nil, err
		}
		defer end()
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		end, err := beginCall(ss.Context(), refuse)
		if err != nil {
			return err
		}
		defer end()
		return h(srv, ss)
	}
	return unary, stream
}

func beginCall(ctx context.Context, refuse func(*LimitError) error) (func(), error) {
	ai, ok := authInfoFrom(ctx)
	if !ok || ai.conn == nil {
		return func() {}, nil
	}
	if ai.Refusal != nil {
		return nil, refuse(ai.Refusal)
	}
	if ai.conn.slot == nil {
		return func() {}, nil
	}
	return ai.conn.lim.begin(ai.conn.slot), nil
}
