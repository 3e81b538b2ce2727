package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// WatchRequest selects the servers to watch; no Resources means all.
type WatchRequest struct {
	Resources []string
	// IncludeTokens makes events carry the access tokens themselves.
	IncludeTokens bool
}

// WatchEvent is one message of the stream. Kind SNAPSHOT (or RESYNC) is
// the state of one server, SNAPSHOT_END closes a snapshot, REFRESHED and
// STATE_CHANGED follow as they happen.
type WatchEvent struct {
	Kind   xaadv1.WatchEventKind
	Server *xaadv1.ServerStatus
	// Token is set when IncludeTokens was requested and the event has one.
	Token *Token
}

// Reconnect delays of Watch: full jitter between 0 and a ceiling that
// doubles from watchBackoffBase up to watchBackoffCap.
const (
	watchBackoffBase = 100 * time.Millisecond
	watchBackoffCap  = 10 * time.Second
)

// Watch calls fn for every event of the servers req names until ctx ends
// (it then returns nil) or fn returns an error (returned as is). When the
// stream breaks, for example because the daemon restarts, Watch reconnects
// with jittered backoff, and every new stream starts from a snapshot, so
// fn never has to guess what it missed. fn runs on Watch's goroutine.
func (c *Client) Watch(ctx context.Context, req WatchRequest, fn func(WatchEvent) error) error {
	attempt := 0
	for {
		synced, err := c.watchOnce(ctx, req, fn)
		if ctx.Err() != nil {
			return nil
		}
		var fnErr fnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		if code := status.Code(err); code == codes.InvalidArgument || code == codes.PermissionDenied || code == codes.Unimplemented {
			return fromRPC(err, c.socket) // retrying cannot help
		}
		if synced {
			attempt = 0
		}
		attempt++
		ceiling := watchBackoffBase << min(attempt-1, 8)
		if ceiling > watchBackoffCap {
			ceiling = watchBackoffCap
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(rand.Float64() * float64(ceiling))):
		}
	}
}

type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// watchOnce follows one stream; synced reports whether it got as far as a
// complete snapshot (which resets the backoff).
func (c *Client) watchOnce(ctx context.Context, req WatchRequest, fn func(WatchEvent) error) (synced bool, err error) {
	stream, err := c.rpc.WatchTokens(ctx, &xaadv1.WatchTokensRequest{Resources: req.Resources, IncludeTokens: req.IncludeTokens})
	if err != nil {
		return false, err
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return synced, err
		}
		if msg.GetKind() == xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END {
			synced = true
		}
		ev := WatchEvent{Kind: msg.GetKind(), Server: msg.GetServer()}
		if msg.GetToken() != nil {
			ev.Token = tokenFromProto(msg.GetToken())
		}
		if err := fn(ev); err != nil {
			return synced, fnError{err}
		}
	}
}
