package daemon

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/errinfo"
)

// ErrorDomain is the ErrorInfo domain of every xaad error.
const ErrorDomain = errinfo.Domain

// codeOf maps each broker reason to the gRPC code a client branches on.
var codeOf = map[broker.Reason]codes.Code{
	broker.ReasonLoginRequired:       codes.Unauthenticated,
	broker.ReasonServerNotAllowed:    codes.PermissionDenied,
	broker.ReasonDiscoveryFailed:     codes.FailedPrecondition,
	broker.ReasonIdPDenied:           codes.PermissionDenied,
	broker.ReasonASDenied:            codes.PermissionDenied,
	broker.ReasonUpstreamUnavailable: codes.Unavailable,
	broker.ReasonInvalidArgument:     codes.InvalidArgument,
	broker.ReasonConfig:              codes.FailedPrecondition,
	broker.ReasonNotFound:            codes.NotFound,
	broker.ReasonInternal:            codes.Internal,
	broker.ReasonLoginInProgress:     codes.Aborted,
	broker.ReasonUnsupported:         codes.Unimplemented,
	broker.ReasonLimitExceeded:       codes.ResourceExhausted,
}

// toStatus turns a broker error into a gRPC status carrying an ErrorInfo
// with the reason. The broker's messages are safe to show: they never hold
// token material.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "request cancelled")
	}
	reason := broker.ReasonOf(err)
	code, ok := codeOf[reason]
	if !ok {
		code = codes.Internal
	}
	return withReason(code, string(reason), err.Error())
}

func withReason(code codes.Code, reason, msg string) error {
	return errinfo.Status(code, reason, msg).Err()
}

func invalidArgument(msg string) error {
	return withReason(codes.InvalidArgument, string(broker.ReasonInvalidArgument), msg)
}
