package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/client/clienttest"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// secret is the access token the fake daemon hands out; it must appear on
// stdout of `token` and nowhere on stderr.
const secret = "tok-e2e-very-secret"

// fakeDaemon answers like a daemon with one server and a signed-in user.
// GetToken fails with the reason named in the resource's host, so tests can
// ask for any error by URL.
func fakeDaemon() *clienttest.Fake {
	return &clienttest.Fake{
		GetTokenFunc: func(_ context.Context, r *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			switch r.GetResource() {
			case "https://login.example/mcp":
				return nil, clienttest.Error(codes.FailedPrecondition, xaadv1.Reason_REASON_LOGIN_REQUIRED, `sign-in expired; run "xaactl login"`)
			case "https://denied.example/mcp":
				return nil, clienttest.Error(codes.PermissionDenied, xaadv1.Reason_REASON_SERVER_NOT_ALLOWED, "server not allowed by policy")
			case "https://down.example/mcp":
				return nil, clienttest.Error(codes.Unavailable, xaadv1.Reason_REASON_UPSTREAM_UNAVAILABLE, "identity provider unreachable")
			case "https://bug.example/mcp":
				return nil, clienttest.Error(codes.Internal, xaadv1.Reason_REASON_INTERNAL, "storage failed")
			}
			return &xaadv1.GetTokenResponse{
				AccessToken: secret, TokenType: "Bearer", ExpiresAt: timestamppb.New(now),
				Scopes: r.GetScopes(), Resource: r.GetResource(), AuthorizationServer: "https://as.example/",
			}, nil
		},
		StatusFunc: func(context.Context, *xaadv1.StatusRequest) (*xaadv1.StatusResponse, error) {
			return sampleStatus(), nil
		},
		ListServersFunc: func(context.Context, *xaadv1.ListServersRequest) (*xaadv1.ListServersResponse, error) {
			return &xaadv1.ListServersResponse{Servers: sampleStatus().GetServers()}, nil
		},
		AddServerFunc: func(_ context.Context, r *xaadv1.AddServerRequest) (*xaadv1.AddServerResponse, error) {
			return &xaadv1.AddServerResponse{Server: &xaadv1.ServerStatus{Url: r.GetUrl(), State: xaadv1.ServerState_SERVER_STATE_IDLE}}, nil
		},
		RemoveServerFunc: func(_ context.Context, r *xaadv1.RemoveServerRequest) (*xaadv1.RemoveServerResponse, error) {
			if r.GetUrl() != "https://wiki.example/mcp" {
				return nil, clienttest.Error(codes.NotFound, xaadv1.Reason_REASON_SERVER_NOT_FOUND, "no such server")
			}
			return &xaadv1.RemoveServerResponse{}, nil
		},
		LoginFunc: func(r *xaadv1.LoginRequest, s grpc.ServerStreamingServer[xaadv1.LoginResponse]) error {
			if r.GetMode() != xaadv1.LoginMode_LOGIN_MODE_IMPORT || r.GetIdToken() != "id-token-value" || r.GetRefreshToken() != "rt-value" {
				return clienttest.Error(codes.InvalidArgument, xaadv1.Reason_REASON_INVALID_ARGUMENT, "unexpected login request")
			}
			return s.Send(&xaadv1.LoginResponse{Event: &xaadv1.LoginResponse_Done{Done: &xaadv1.LoginDone{Identity: &xaadv1.Identity{
				Subject: "alice", Issuer: "https://idp.example", State: xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN, HasRefreshToken: true,
			}}}})
		},
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs xaactl against socket with stdin.
func run(t *testing.T, socket, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), append([]string{"--socket", socket}, args...), strings.NewReader(stdin), &out, &errOut)
	if strings.Contains(errOut.String(), secret) || strings.Contains(errOut.String(), "id-token-value") {
		t.Errorf("stderr leaks token material: %s", errOut.String())
	}
	return result{code, out.String(), errOut.String()}
}

func TestEndToEnd(t *testing.T) {
	socket := clienttest.Serve(t, fakeDaemon())
	tokFile := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(tokFile, []byte("id-token-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    string // exact stdout, or "" to skip
		wantErrSub string // substring of stderr, or "" to require empty stderr
	}{
		{name: "token raw", args: []string{"token", "https://mcp.tools.example/mcp"}, wantOut: secret + "\n"},
		{name: "token header", args: []string{"token", "https://mcp.tools.example/mcp", "--format", "header"}, wantOut: "Authorization: Bearer " + secret + "\n"},
		{name: "token json", args: []string{"token", "--format=json", "--scope", "s1", "https://mcp.tools.example/mcp"}, wantOut: `{
  "access_token": "` + secret + `",
  "token_type": "Bearer",
  "expires_at": "2030-05-06T12:00:00Z",
  "scopes": [
    "s1"
  ],
  "resource": "https://mcp.tools.example/mcp",
  "authorization_server": "https://as.example/",
  "stale": false
}
`},
		{name: "login required", args: []string{"token", "https://login.example/mcp"}, wantCode: ExitLoginRequired, wantErrSub: "LOGIN_REQUIRED"},
		{name: "not allowed", args: []string{"token", "https://denied.example/mcp"}, wantCode: ExitNotAllowed, wantErrSub: "SERVER_NOT_ALLOWED"},
		{name: "upstream down", args: []string{"token", "https://down.example/mcp"}, wantCode: ExitUpstreamUnavailable, wantErrSub: "identity provider unreachable"},
		{name: "internal", args: []string{"token", "https://bug.example/mcp"}, wantCode: ExitError, wantErrSub: "storage failed"},
		{name: "usage", args: []string{"token"}, wantCode: ExitUsage, wantErrSub: "missing URL"},
		{name: "status", args: []string{"status"}, wantErrSub: ""},
		{name: "status json", args: []string{"status", "--json"}},
		{name: "server ls", args: []string{"server", "ls"}},
		{name: "server add", args: []string{"server", "add", "https://x.example/mcp", "--keep-warm"}, wantOut: "added https://x.example/mcp (IDLE)\n"},
		{name: "server rm", args: []string{"server", "rm", "https://wiki.example/mcp"}, wantOut: "removed https://wiki.example/mcp\n"},
		{name: "server rm unknown", args: []string{"server", "rm", "https://nope.example/mcp"}, wantCode: ExitError, wantErrSub: "SERVER_NOT_FOUND"},
		{name: "login from stdin", stdin: "rt-value\n", args: []string{"login", "--id-token-file", tokFile, "--refresh-token-file", "-"}, wantOut: "Signed in as alice at https://idp.example\n"},
		{name: "login empty stdin", args: []string{"login", "--id-token-file", "-"}, wantCode: ExitError, wantErrSub: "ID token in standard input is empty"},
		{name: "login missing file", args: []string{"login", "--id-token-file", "/nonexistent/x"}, wantCode: ExitError, wantErrSub: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, socket, tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if tt.wantOut != "" && r.stdout != tt.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, tt.wantOut)
			}
			if tt.wantErrSub == "" && r.stderr != "" {
				t.Errorf("stderr = %q, want empty", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErrSub) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantErrSub)
			}
		})
	}
}

// TestStatusOutput runs the real daemon, asks for a token 15 times with
// `xaactl token` (one network refresh, then 14 cache hits) and checks that
// `status --json` reports exactly that, and `status` renders it.
func TestStatusOutput(t *testing.T) {
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	url := env.TB.MCP.URL()
	for range 15 {
		if r := run(t, env.Socket, "", "token", url); r.code != 0 {
			t.Fatalf("token: code %d, stderr %s", r.code, r.stderr)
		}
	}
	r := run(t, env.Socket, "", "status", "--json")
	var st struct {
		Servers []struct {
			URL        string            `json:"url"`
			State      string            `json:"state"`
			Counters   map[string]string `json:"counters"`
			LastUsedAt *string           `json:"last_used_at"`
			NextAt     *string           `json:"next_refresh_at"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil || len(st.Servers) != 1 {
		t.Fatalf("status --json: code %d, %v:\n%s", r.code, err, r.stdout)
	}
	s := st.Servers[0]
	want := map[string]string{ // uint64 is a string in proto JSON
		"requests": "15", "cache_hits": "14", "refreshes": "1", "failures": "0",
		"token_exchanges": "1", "jwt_bearer_grants": "1", "assertions_served": "0",
	}
	// The requests came within seconds of the fetch, long before the
	// quarter of the token's lifetime ahead of its refresh point: unless
	// it is asked for then, it is not refreshed, and status says so.
	if s.URL != url || s.State != "SERVER_STATE_READY" || !maps.Equal(s.Counters, want) || s.LastUsedAt == nil || s.NextAt != nil {
		t.Errorf("status --json:\n%s\nwant READY, counters %v, last_used_at set and next_refresh_at unset", r.stdout, want)
	}
	r = run(t, env.Socket, "", "status")
	for _, sub := range []string{"Identity: alice at " + env.TB.IdP.Issuer() + ", signed in", url, "READY", "when used"} {
		if !strings.Contains(r.stdout, sub) {
			t.Errorf("status output lacks %q:\n%s", sub, r.stdout)
		}
	}
}

func TestDaemonNotRunning(t *testing.T) {
	dir, err := os.MkdirTemp("", "xc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket := filepath.Join(dir, "none.sock")
	r := run(t, socket, "", "status")
	if r.code != ExitDaemonUnreachable || !strings.Contains(r.stderr, "systemctl --user start xaad.socket") {
		t.Errorf("code %d, stderr %q; want %d and a start hint", r.code, r.stderr, ExitDaemonUnreachable)
	}
}

func TestSocketFromEnvironment(t *testing.T) {
	socket := clienttest.Serve(t, fakeDaemon())
	t.Setenv("XAAD_SOCKET", socket)
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"token", "https://mcp.tools.example/mcp"}, strings.NewReader(""), &out, &errOut)
	if code != 0 || out.String() != secret+"\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"help", "token"}, {"status", "--help"}, {"server", "--help"},
		{"server", "add", "--help"}, {"login", "-h"}, {"probe", "--help"}, {"help", "server", "ls"},
	} {
		var out, errOut bytes.Buffer
		// No daemon: help must not need one.
		code := Main(t.Context(), args, strings.NewReader(""), &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), "Example") || errOut.Len() != 0 {
			t.Errorf("%q: code %d, stderr %q, stdout:\n%s", args, code, errOut.String(), out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := Main(t.Context(), nil, strings.NewReader(""), &out, &errOut); code != ExitUsage {
		t.Errorf("no args: code %d, want %d", code, ExitUsage)
	}
	if code := Main(t.Context(), []string{"frobnicate"}, strings.NewReader(""), &out, &errOut); code != ExitUsage {
		t.Errorf("unknown command: code %d, want %d", code, ExitUsage)
	}
}

// A refusal by the IdP's or the authorization server's policy exits 4,
// "not allowed", as the README says, with the daemon's words for it; an
// outage there exits 5.
func TestTokenRefusedByPolicyExits4(t *testing.T) {
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	url := env.TB.MCP.URL()
	for _, tc := range []struct {
		ep       testbed.Endpoint
		fault    testbed.Fault
		wantCode int
		want     string
	}{
		{testbed.EndpointIdPToken, testbed.Fault{Error: "invalid_target", Description: "not approved"}, ExitNotAllowed, "does not allow this MCP server"},
		{testbed.EndpointIdPToken, testbed.Fault{Error: "access_denied"}, ExitNotAllowed, "IdP"},
		{testbed.EndpointASToken, testbed.Fault{Error: "unauthorized_client", Status: 400}, ExitNotAllowed, "authorization server"},
		{testbed.EndpointIdPToken, testbed.Fault{Status: 503}, ExitUpstreamUnavailable, "IdP"},
	} {
		env.TB.SetFault(tc.ep, tc.fault)
		r := run(t, env.Socket, "", "token", url, "--force")
		env.TB.SetFault(tc.ep, testbed.Fault{})
		if r.code != tc.wantCode || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s %+v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.ep, tc.fault, r.code, r.stdout, r.stderr, tc.wantCode, tc.want)
		}
	}
}
