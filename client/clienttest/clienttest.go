// Package clienttest provides a fake xaad daemon for tests of code that uses
// package client: a real gRPC server on a real Unix socket, answering with
// functions the test supplies. It is not the daemon and imports none of it.
package clienttest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Fake implements xaadv1.XaadServiceServer with one optional function per
// RPC; an RPC whose function is nil answers UNIMPLEMENTED. Set the functions
// before [Serve] and do not change them afterwards: they are called from
// server goroutines.
type Fake struct {
	xaadv1.UnimplementedXaadServiceServer

	GetTokenFunc     func(context.Context, *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error)
	StatusFunc       func(context.Context, *xaadv1.StatusRequest) (*xaadv1.StatusResponse, error)
	ListServersFunc  func(context.Context, *xaadv1.ListServersRequest) (*xaadv1.ListServersResponse, error)
	AddServerFunc    func(context.Context, *xaadv1.AddServerRequest) (*xaadv1.AddServerResponse, error)
	RemoveServerFunc func(context.Context, *xaadv1.RemoveServerRequest) (*xaadv1.RemoveServerResponse, error)
	LogoutFunc       func(context.Context, *xaadv1.LogoutRequest) (*xaadv1.LogoutResponse, error)
	LoginFunc        func(*xaadv1.LoginRequest, grpc.ServerStreamingServer[xaadv1.LoginResponse]) error
}

// GetToken calls GetTokenFunc.
func (f *Fake) GetToken(ctx context.Context, r *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
	if f.GetTokenFunc == nil {
		return f.UnimplementedXaadServiceServer.GetToken(ctx, r)
	}
	return f.GetTokenFunc(ctx, r)
}

// Status calls StatusFunc.
func (f *Fake) Status(ctx context.Context, r *xaadv1.StatusRequest) (*xaadv1.StatusResponse, error) {
	if f.StatusFunc == nil {
		return f.UnimplementedXaadServiceServer.Status(ctx, r)
	}
	return f.StatusFunc(ctx, r)
}

// ListServers calls ListServersFunc.
func (f *Fake) ListServers(ctx context.Context, r *xaadv1.ListServersRequest) (*xaadv1.ListServersResponse, error) {
	if f.ListServersFunc == nil {
		return f.UnimplementedXaadServiceServer.ListServers(ctx, r)
	}
	return f.ListServersFunc(ctx, r)
}

// AddServer calls AddServerFunc.
func (f *Fake) AddServer(ctx context.Context, r *xaadv1.AddServerRequest) (*xaadv1.AddServerResponse, error) {
	if f.AddServerFunc == nil {
		return f.UnimplementedXaadServiceServer.AddServer(ctx, r)
	}
	return f.AddServerFunc(ctx, r)
}

// RemoveServer calls RemoveServerFunc.
func (f *Fake) RemoveServer(ctx context.Context, r *xaadv1.RemoveServerRequest) (*xaadv1.RemoveServerResponse, error) {
	if f.RemoveServerFunc == nil {
		return f.UnimplementedXaadServiceServer.RemoveServer(ctx, r)
	}
	return f.RemoveServerFunc(ctx, r)
}

// Logout calls LogoutFunc.
func (f *Fake) Logout(ctx context.Context, r *xaadv1.LogoutRequest) (*xaadv1.LogoutResponse, error) {
	if f.LogoutFunc == nil {
		return f.UnimplementedXaadServiceServer.Logout(ctx, r)
	}
	return f.LogoutFunc(ctx, r)
}

// Login calls LoginFunc.
func (f *Fake) Login(r *xaadv1.LoginRequest, s grpc.ServerStreamingServer[xaadv1.LoginResponse]) error {
	if f.LoginFunc == nil {
		return f.UnimplementedXaadServiceServer.Login(r, s)
	}
	return f.LoginFunc(r, s)
}

// Serve starts srv on a Unix socket in a new short temporary directory and
// returns the socket path. The server stops and the directory is removed
// when the test ends.
//
// The directory comes from os.MkdirTemp rather than t.TempDir because
// socket paths must stay under 108 bytes and t.TempDir embeds the test name.
func Serve(t testing.TB, srv xaadv1.XaadServiceServer) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	xaadv1.RegisterXaadServiceServer(gs, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		gs.Serve(ln) // returns when Stop closes the listener
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return path
}

// Error builds the status error the daemon returns: code, message, and a
// google.rpc.ErrorInfo carrying reason in domain "xaad.dev".
func Error(code codes.Code, reason xaadv1.Reason, msg string) error {
	st := status.New(code, msg)
	info := &errdetails.ErrorInfo{
		Domain: "xaad.dev",
		Reason: strings.TrimPrefix(reason.String(), "REASON_"),
	}
	withInfo, err := st.WithDetails(info)
	if err != nil {
		// Only fails for a nil or unmarshalable detail, which info is not.
		panic(err)
	}
	return withInfo.Err()
}
