package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/client/clienttest"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// dial connects a Client to fake and closes it when the test ends.
func dial(t *testing.T, fake *clienttest.Fake) *Client {
	t.Helper()
	c, err := Dial(t.Context(), clienttest.Serve(t, fake))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGetToken(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var got *xaadv1.GetTokenRequest
	fake := &clienttest.Fake{
		GetTokenFunc: func(_ context.Context, r *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			got = r // the call returns before the test reads it
			return &xaadv1.GetTokenResponse{
				AccessToken:         "secret-at",
				TokenType:           "Bearer",
				ExpiresAt:           timestamppb.New(exp),
				Scopes:              []string{"read"},
				Resource:            "https://mcp.example/mcp",
				AuthorizationServer: "https://as.example/",
				Source:              xaadv1.TokenSource_TOKEN_SOURCE_MEMORY,
				Stale:               true,
				StaleReason:         "idp down",
			}, nil
		},
	}
	c := dial(t, fake)
	tok, err := c.GetToken(t.Context(), TokenRequest{
		Resource:     "https://mcp.example/mcp",
		Scopes:       []string{"read"},
		MinValidFor:  5 * time.Minute,
		ForceRefresh: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantReq := &xaadv1.GetTokenRequest{
		Resource:     "https://mcp.example/mcp",
		Scopes:       []string{"read"},
		MinValidFor:  durationpb.New(5 * time.Minute),
		ForceRefresh: true,
	}
	if !proto.Equal(got, wantReq) {
		t.Errorf("request = %v, want %v", got, wantReq)
	}
	if tok.AccessToken != "secret-at" || !tok.Expiry.Equal(exp) || !tok.Stale || tok.StaleReason != "idp down" ||
		tok.AuthorizationServer != "https://as.example/" || tok.Source != xaadv1.TokenSource_TOKEN_SOURCE_MEMORY {
		t.Errorf("token = %+v", tok)
	}
	if !tok.RefreshedAt.IsZero() {
		t.Errorf("RefreshedAt = %v, want zero for an unset timestamp", tok.RefreshedAt)
	}
	for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v", tok, *tok, tok)} {
		if strings.Contains(s, "secret-at") {
			t.Errorf("formatted token leaks the secret: %s", s)
		}
	}
}

func TestGetTokenError(t *testing.T) {
	fake := &clienttest.Fake{
		GetTokenFunc: func(context.Context, *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			return nil, clienttest.Error(codes.FailedPrecondition, xaadv1.Reason_REASON_LOGIN_REQUIRED, "run xaactl login")
		},
	}
	c := dial(t, fake)
	_, err := c.GetToken(t.Context(), TokenRequest{Resource: "https://mcp.example/mcp"})
	if !IsLoginRequired(err) {
		t.Fatalf("err = %v, want LOGIN_REQUIRED", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != codes.FailedPrecondition || e.Message != "run xaactl login" {
		t.Errorf("err = %#v", err)
	}
}

func TestUnimplementedIsError(t *testing.T) {
	c := dial(t, &clienttest.Fake{})
	_, err := c.Status(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Code != codes.Unimplemented {
		t.Errorf("err = %v, want *Error with Unimplemented", err)
	}
}

func TestServerCalls(t *testing.T) {
	servers := []*xaadv1.ServerStatus{{Url: "https://a.example/mcp", State: xaadv1.ServerState_SERVER_STATE_READY}}
	var added *xaadv1.AddServerRequest
	var removed string
	fake := &clienttest.Fake{
		ListServersFunc: func(context.Context, *xaadv1.ListServersRequest) (*xaadv1.ListServersResponse, error) {
			return &xaadv1.ListServersResponse{Servers: servers}, nil
		},
		AddServerFunc: func(_ context.Context, r *xaadv1.AddServerRequest) (*xaadv1.AddServerResponse, error) {
			added = r
			return &xaadv1.AddServerResponse{Server: &xaadv1.ServerStatus{Url: r.GetUrl(), KeepWarm: r.GetKeepWarm()}}, nil
		},
		RemoveServerFunc: func(_ context.Context, r *xaadv1.RemoveServerRequest) (*xaadv1.RemoveServerResponse, error) {
			removed = r.GetUrl()
			return &xaadv1.RemoveServerResponse{}, nil
		},
		StatusFunc: func(context.Context, *xaadv1.StatusRequest) (*xaadv1.StatusResponse, error) {
			return &xaadv1.StatusResponse{Version: "v9", Servers: servers}, nil
		},
	}
	c := dial(t, fake)
	ctx := t.Context()

	ls, err := c.ListServers(ctx)
	if err != nil || len(ls) != 1 || !proto.Equal(ls[0], servers[0]) {
		t.Errorf("ListServers = %v, %v", ls, err)
	}
	st, err := c.AddServer(ctx, Server{URL: "https://b.example/mcp", Scopes: []string{"x"}, KeepWarm: true})
	if err != nil || st.GetUrl() != "https://b.example/mcp" || !st.GetKeepWarm() {
		t.Errorf("AddServer = %v, %v", st, err)
	}
	if want := (&xaadv1.AddServerRequest{Url: "https://b.example/mcp", Scopes: []string{"x"}, KeepWarm: true}); !proto.Equal(added, want) {
		t.Errorf("AddServer request = %v, want %v", added, want)
	}
	if err := c.RemoveServer(ctx, "https://b.example/mcp"); err != nil || removed != "https://b.example/mcp" {
		t.Errorf("RemoveServer = %v, removed %q", err, removed)
	}
	status, err := c.Status(ctx)
	if err != nil || status.GetVersion() != "v9" {
		t.Errorf("Status = %v, %v", status, err)
	}
}

func TestLoginImport(t *testing.T) {
	var got *xaadv1.LoginRequest
	fake := &clienttest.Fake{
		LoginFunc: func(r *xaadv1.LoginRequest, s grpc.ServerStreamingServer[xaadv1.LoginResponse]) error {
			got = r
			if err := s.Send(&xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_Progress{Progress: &xaadv1.Progress{Message: "checking"}}}); err != nil {
				return err
			}
			return s.Send(&xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_Done{Done: &xaadv1.LoginDone{
				Identity: &xaadv1.Identity{Subject: "alice", State: xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN},
			}}})
		},
	}
	c := dial(t, fake)
	id, err := c.LoginImport(t.Context(), "idt", "rt")
	if err != nil {
		t.Fatal(err)
	}
	if id.GetSubject() != "alice" {
		t.Errorf("identity = %v", id)
	}
	want := &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_IMPORT, IdToken: "idt", RefreshToken: "rt"}
	if !proto.Equal(got, want) {
		t.Errorf("request mode=%v, want IMPORT with both tokens", got.GetMode())
	}
}

func TestLoginImportNoResult(t *testing.T) {
	fake := &clienttest.Fake{
		LoginFunc: func(*xaadv1.LoginRequest, grpc.ServerStreamingServer[xaadv1.LoginResponse]) error { return nil },
	}
	c := dial(t, fake)
	if _, err := c.LoginImport(t.Context(), "idt", ""); err == nil || strings.Contains(err.Error(), "idt") {
		t.Errorf("err = %v, want an error without the token", err)
	}
}

func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestDialHint(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "missing.sock")
		_, err := Dial(t.Context(), path)
		checkUnreachable(t, err, path, syscall.ENOENT)
	})
	t.Run("stale socket", func(t *testing.T) {
		path := filepath.Join(shortDir(t), "stale.sock")
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false) // leave the file, as a crashed daemon does
		ln.Close()
		_, err = Dial(t.Context(), path)
		checkUnreachable(t, err, path, syscall.ECONNREFUSED)
	})
}

func checkUnreachable(t *testing.T, err error, path string, cause error) {
	t.Helper()
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnreachableError", err)
	}
	if ue.Socket != path || !errors.Is(err, cause) {
		t.Errorf("socket=%q cause=%v, want %q and %v", ue.Socket, ue.Err, path, cause)
	}
	for _, hint := range []string{"systemctl --user start xaad.socket", "xaad run", path} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("message %q lacks %q", err, hint)
		}
	}
}

func TestDaemonGoneAfterDial(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	xaadv1.RegisterXaadServiceServer(gs, &clienttest.Fake{})
	done := make(chan struct{})
	go func() { defer close(done); gs.Serve(ln) }()
	c, err := Dial(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gs.Stop()
	<-done
	_, err = c.ListServers(t.Context())
	if !IsUnreachable(err) {
		t.Errorf("err = %v, want *UnreachableError", err)
	}
}

func TestContextErrors(t *testing.T) {
	release := make(chan struct{})
	fake := &clienttest.Fake{
		GetTokenFunc: func(ctx context.Context, _ *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			close(release)
			<-ctx.Done() // the client cancels; the server sees it
			return nil, ctx.Err()
		},
	}
	c := dial(t, fake)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-release // cancel only once the call is in the daemon
		cancel()
	}()
	_, err := c.GetToken(ctx, TokenRequest{Resource: "https://m.example/mcp"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one that is context.Canceled", err)
	}
}
