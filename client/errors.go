package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/internal/errinfo"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of errors from the daemon.
const ErrorDomain = errinfo.Domain

// Error is a failure reported by the daemon: a gRPC status plus the reason
// the daemon attached. Its message is safe to show a person and never holds
// token material.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Reason is the ErrorInfo reason without the "REASON_" prefix (for
	// example "LOGIN_REQUIRED"); empty when the daemon sent none.
	Reason string
	// Message is the daemon's human-readable message.
	Message string
	// Metadata is the ErrorInfo metadata ("resource", "authorization_server",
	// "oauth_error"); nil when none.
	Metadata map[string]string

	status *status.Status
}

func (e *Error) Error() string {
	tag := e.Reason
	if tag == "" {
		tag = e.Code.String()
	}
	return fmt.Sprintf("xaad: %s (%s)", e.Message, tag)
}

// GRPCStatus returns the original status, so status.FromError and
// status.Code keep working on errors returned by this package.
func (e *Error) GRPCStatus() *status.Status {
	if e.status == nil {
		return status.New(e.Code, e.Message)
	}
	return e.status
}

// Is makes errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) work for calls that ended because
// the caller's context did.
func (e *Error) Is(target error) bool {
	switch target {
	case context.Canceled:
		return e.Code == codes.Canceled
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	}
	return false
}

// ReasonCode returns Reason as the API enum, or REASON_UNSPECIFIED when the
// daemon sent none or one this client does not know yet.
func (e *Error) ReasonCode() xaadv1.Reason {
	return errinfo.ParseReason(e.Reason)
}

// UnreachableError reports that the daemon's socket could not be reached.
// Its message says how to start the daemon.
type UnreachableError struct {
	// Socket is the path that was dialled.
	Socket string
	// Err is the underlying connection error.
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("xaad daemon not reachable at %s: %v; start it with "+
		"`systemctl --user start xaad.socket` or run `xaad run`", e.Socket, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ReasonOf returns the daemon's reason for err, or REASON_UNSPECIFIED when
// err is not (or does not wrap) an [*Error] with a known reason.
func ReasonOf(err error) xaadv1.Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.ReasonCode()
	}
	return xaadv1.Reason_REASON_UNSPECIFIED
}

// IsLoginRequired reports whether err says the user must sign in again
// (`xaactl login`).
func IsLoginRequired(err error) bool {
	return ReasonOf(err) == xaadv1.Reason_REASON_LOGIN_REQUIRED
}

// IsServerNotAllowed reports whether err says the MCP server is not on the
// configured allow list.
func IsServerNotAllowed(err error) bool {
	return ReasonOf(err) == xaadv1.Reason_REASON_SERVER_NOT_ALLOWED
}

// IsPeerNotAllowed reports whether err says this program may not get tokens
// for the server.
func IsPeerNotAllowed(err error) bool {
	return ReasonOf(err) == xaadv1.Reason_REASON_PEER_NOT_ALLOWED
}

// IsUpstreamUnavailable reports whether err says the IdP or authorization
// server could not be reached and no valid cached token exists.
func IsUpstreamUnavailable(err error) bool {
	return ReasonOf(err) == xaadv1.Reason_REASON_UPSTREAM_UNAVAILABLE
}

// IsUnreachable reports whether err says the daemon itself could not be
// reached.
func IsUnreachable(err error) bool {
	var e *UnreachableError
	return errors.As(err, &e)
}

// fromRPC turns an error from a gRPC call into an [*Error], or into an
// [*UnreachableError] when the connection to the daemon failed.
func fromRPC(err error, socket string) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	e.Reason, e.Metadata, _ = errinfo.FromStatus(st)
	// The daemon always attaches a reason, so UNAVAILABLE without one comes
	// from the gRPC transport: nobody answered on the socket.
	if e.Code == codes.Unavailable && e.Reason == "" {
		return &UnreachableError{Socket: socket, Err: errors.New(e.Message)}
	}
	return e
}
