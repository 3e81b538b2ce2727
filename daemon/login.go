package daemon

import (
	"context"
	"errors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Login runs a sign-in inside the daemon, so the refresh token never
// leaves it. The stream carries what the person must do (open a URL, enter
// a code) and ends with LoginDone. The client cancelling the stream
// (Ctrl-C in xaactl) cancels the login.
func (s *service) Login(req *xaadv1.LoginRequest, stream xaadv1.XaadService_LoginServer) error {
	ctx := stream.Context()
	send := func(ev *xaadv1.LoginResponse) {
		// A failed send means the client is gone; ctx ends the login.
		_ = stream.Send(ev)
	}
	opts := broker.LoginOptions{ExtraScopes: req.GetExtraScopes(), Emit: func(ev broker.LoginEvent) { send(loginEventProto(ev)) }}
	var info broker.IdentityInfo
	var err error
	switch req.GetMode() {
	case xaadv1.LoginMode_LOGIN_MODE_IMPORT:
		if req.GetIdToken() == "" {
			return invalidArgument("an import login needs id_token")
		}
		send(progress("verifying the ID token"))
		info, err = s.b.ImportIdentity(ctx, req.GetIdToken(), req.GetRefreshToken())
	case xaadv1.LoginMode_LOGIN_MODE_BROWSER:
		info, err = s.b.LoginBrowser(ctx, opts)
	case xaadv1.LoginMode_LOGIN_MODE_DEVICE:
		info, err = s.b.LoginDevice(ctx, opts)
	default:
		return invalidArgument("login mode is required")
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The caller's own deadline ended the sign-in; say so in the
			// code so it can tell its timeout from a failure here.
			return status.Error(codes.DeadlineExceeded, "the sign-in did not finish before the caller's deadline")
		}
		return toStatus(err)
	}
	return stream.Send(&xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_Done{Done: &xaadv1.LoginDone{Identity: identityProto(info)}}})
}

// Logout revokes the refresh token where the IdP allows it and forgets the
// identity and every cached token.
func (s *service) Logout(ctx context.Context, _ *xaadv1.LogoutRequest) (*xaadv1.LogoutResponse, error) {
	revoked, err := s.b.Logout(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &xaadv1.LogoutResponse{Revoked: revoked}, nil
}

func progress(msg string) *xaadv1.LoginResponse {
	return &xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_Progress{Progress: &xaadv1.Progress{Message: msg}}}
}

func loginEventProto(ev broker.LoginEvent) *xaadv1.LoginResponse {
	switch {
	case ev.OpenURL != "":
		// The daemon never starts a browser: it may run as a service
		// without the person's display; xaactl opens it.
		return &xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_OpenUrl{OpenUrl: &xaadv1.OpenURL{Url: ev.OpenURL}}}
	case ev.Device != nil:
		d := ev.Device
		return &xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_DeviceCode{DeviceCode: &xaadv1.DeviceCode{
			UserCode: d.UserCode, VerificationUri: d.VerificationURI, VerificationUriComplete: d.VerificationURIComplete,
			ExpiresAt: timestamppb.New(d.ExpiresAt), Interval: durationpb.New(d.Interval),
		}}}
	default:
		return progress(ev.Progress)
	}
}
