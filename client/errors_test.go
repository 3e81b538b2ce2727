package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client/clienttest"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

func withInfo(t *testing.T, code codes.Code, msg string, info *errdetails.ErrorInfo) error {
	t.Helper()
	st, err := status.New(code, msg).WithDetails(info)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestFromRPC(t *testing.T) {
	plain := errors.New("not a status")
	tests := []struct {
		name       string
		in         error
		wantCode   codes.Code
		wantReason xaadv1.Reason
		wantText   string
	}{
		{
			name:       "login required",
			in:         clienttest.Error(codes.FailedPrecondition, xaadv1.Reason_REASON_LOGIN_REQUIRED, "sign in with xaactl login"),
			wantCode:   codes.FailedPrecondition,
			wantReason: xaadv1.Reason_REASON_LOGIN_REQUIRED,
			wantText:   "xaad: sign in with xaactl login (LOGIN_REQUIRED)",
		},
		{
			name:       "server not allowed",
			in:         clienttest.Error(codes.PermissionDenied, xaadv1.Reason_REASON_SERVER_NOT_ALLOWED, "not on the list"),
			wantCode:   codes.PermissionDenied,
			wantReason: xaadv1.Reason_REASON_SERVER_NOT_ALLOWED,
			wantText:   "xaad: not on the list (SERVER_NOT_ALLOWED)",
		},
		{
			name:       "prefixed reason tolerated",
			in:         withInfo(t, codes.Unavailable, "idp down", &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: "REASON_UPSTREAM_UNAVAILABLE"}),
			wantCode:   codes.Unavailable,
			wantReason: xaadv1.Reason_REASON_UPSTREAM_UNAVAILABLE,
			wantText:   "xaad: idp down (UPSTREAM_UNAVAILABLE)",
		},
		{
			name:       "foreign domain ignored",
			in:         withInfo(t, codes.Internal, "boom", &errdetails.ErrorInfo{Domain: "example.com", Reason: "LOGIN_REQUIRED"}),
			wantCode:   codes.Internal,
			wantReason: xaadv1.Reason_REASON_UNSPECIFIED,
			wantText:   "xaad: boom (Internal)",
		},
		{
			name:       "reason from a newer daemon",
			in:         withInfo(t, codes.Internal, "new", &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: "SOMETHING_NEW"}),
			wantCode:   codes.Internal,
			wantReason: xaadv1.Reason_REASON_UNSPECIFIED,
			wantText:   "xaad: new (SOMETHING_NEW)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fromRPC(tt.in, "/s")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("fromRPC = %T %v, want *Error", err, err)
			}
			if e.Code != tt.wantCode || e.ReasonCode() != tt.wantReason || err.Error() != tt.wantText {
				t.Errorf("got code=%v reason=%v text=%q, want %v %v %q",
					e.Code, e.ReasonCode(), err.Error(), tt.wantCode, tt.wantReason, tt.wantText)
			}
			if status.Code(err) != tt.wantCode {
				t.Errorf("status.Code = %v, want %v", status.Code(err), tt.wantCode)
			}
		})
	}

	t.Run("nil", func(t *testing.T) {
		if err := fromRPC(nil, "/s"); err != nil {
			t.Errorf("fromRPC(nil) = %v", err)
		}
	})
	t.Run("not a status", func(t *testing.T) {
		if err := fromRPC(plain, "/s"); err != plain {
			t.Errorf("fromRPC = %v, want the input", err)
		}
	})
	t.Run("transport unavailable", func(t *testing.T) {
		err := fromRPC(status.Error(codes.Unavailable, "connection refused"), "/s")
		if !IsUnreachable(err) || !strings.Contains(err.Error(), "systemctl --user start xaad.socket") {
			t.Errorf("fromRPC = %v, want an UnreachableError with a start hint", err)
		}
	})
}

func TestReasonHelpers(t *testing.T) {
	mk := func(r xaadv1.Reason) error {
		// Wrapped twice, as an http.Client or caller would.
		return fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", fromRPC(clienttest.Error(codes.Unknown, r, "m"), "/s")))
	}
	checks := []struct {
		name string
		is   func(error) bool
		r    xaadv1.Reason
	}{
		{"IsLoginRequired", IsLoginRequired, xaadv1.Reason_REASON_LOGIN_REQUIRED},
		{"IsServerNotAllowed", IsServerNotAllowed, xaadv1.Reason_REASON_SERVER_NOT_ALLOWED},
		{"IsPeerNotAllowed", IsPeerNotAllowed, xaadv1.Reason_REASON_PEER_NOT_ALLOWED},
		{"IsUpstreamUnavailable", IsUpstreamUnavailable, xaadv1.Reason_REASON_UPSTREAM_UNAVAILABLE},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.is(mk(c.r)) {
				t.Errorf("%s(%v) = false", c.name, c.r)
			}
			if c.is(mk(xaadv1.Reason_REASON_INTERNAL)) {
				t.Errorf("%s(INTERNAL) = true", c.name)
			}
			if c.is(errors.New("x")) || c.is(nil) {
				t.Errorf("%s(plain error) = true", c.name)
			}
		})
	}
}
