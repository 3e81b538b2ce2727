package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixed "current time" of every rendering test.
var now = time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(d)) }

// sampleStatus covers every identity and server field the text renderers
// use (counters are not among them; TestStatusOutput checks real ones).
func sampleStatus() *xaadv1.StatusResponse {
	return &xaadv1.StatusResponse{
		Identity: &xaadv1.Identity{
			Issuer:           "https://idp.example",
			Subject:          "alice@example.com",
			IdTokenExpiresAt: at(42 * time.Minute),
			State:            xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN,
			HasRefreshToken:  true,
		},
		Version:   "v0.1.0",
		StartedAt: at(-3*time.Hour - 4*time.Minute),
		Warnings:  []string{"config: [[server]] https://old.example/mcp is listed twice"},
		Servers: []*xaadv1.ServerStatus{
			{
				Url:                 "https://mcp.tools.example/mcp",
				Resource:            "https://mcp.tools.example/mcp",
				AuthorizationServer: "https://auth.tools.example/",
				Scopes:              []string{"repo.read", "repo.write"},
				State:               xaadv1.ServerState_SERVER_STATE_READY,
				TokenExpiresAt:      at(55 * time.Minute),
				NextRefreshAt:       at(35 * time.Minute),
				LastRefreshAt:       at(-5 * time.Minute),
				KeepWarm:            true,
				Origin:              xaadv1.ServerOrigin_SERVER_ORIGIN_CONFIG,
			},
			{
				Url:             "https://wiki.example/mcp",
				State:           xaadv1.ServerState_SERVER_STATE_STALE,
				TokenExpiresAt:  at(90 * time.Second),
				NextRefreshAt:   at(10 * time.Second),
				LastError:       "identity provider unreachable:\n connection refused",
				LastErrorReason: xaadv1.Reason_REASON_UPSTREAM_UNAVAILABLE,
				Origin:          xaadv1.ServerOrigin_SERVER_ORIGIN_USER,
			},
			{
				Url:            "https://docs.example/mcp",
				State:          xaadv1.ServerState_SERVER_STATE_READY,
				TokenExpiresAt: at(20 * time.Minute),
				Origin:         xaadv1.ServerOrigin_SERVER_ORIGIN_CONFIG,
			},
			{
				Url:    "https://new.example/mcp",
				State:  xaadv1.ServerState_SERVER_STATE_IDLE,
				Origin: xaadv1.ServerOrigin_SERVER_ORIGIN_USER,
			},
		},
		// One endpoint paused by the server, one with callers queued at the
		// limit, one quiet. Counters stay zero: TestStatusShowsHolds
		// checks real ones.
		Upstreams: []*xaadv1.UpstreamStatus{
			{
				Kind: xaadv1.UpstreamKind_UPSTREAM_KIND_IDP, TokenEndpoint: "https://idp.example/token", Issuer: "https://idp.example",
				RateLimit: 2, RateBurst: 2, Setting: "rate_limit and rate_burst in [idp]",
				HeldUntil: at(7 * time.Second), HoldReason: "Retry-After asks to wait 7s, until 2030-05-06T12:00:07Z",
				QueuedCallers: 1, QueuedBackground: 2, NextCallerAt: at(7 * time.Second),
			},
			{
				Kind: xaadv1.UpstreamKind_UPSTREAM_KIND_AUTHORIZATION_SERVER, TokenEndpoint: "https://auth.tools.example/token",
				RateLimit: 0.5, RateBurst: 1, QueuedCallers: 2, NextCallerAt: at(4 * time.Second),
			},
			{Kind: xaadv1.UpstreamKind_UPSTREAM_KIND_AUTHORIZATION_SERVER, TokenEndpoint: "https://wiki.example/oauth/token", RateLimit: 2, RateBurst: 2},
		},
	}
}

func sampleToken() *client.Token {
	return &client.Token{
		AccessToken:         "at-123",
		TokenType:           "Bearer",
		Expiry:              now.Add(time.Hour),
		Scopes:              []string{"repo.read"},
		Resource:            "https://mcp.tools.example/mcp",
		AuthorizationServer: "https://auth.tools.example/",
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"status.txt", func(b *bytes.Buffer) error { return renderStatus(b, sampleStatus(), now) }},
		{"status-empty.txt", func(b *bytes.Buffer) error { return renderStatus(b, &xaadv1.StatusResponse{}, now) }},
		{"servers.txt", func(b *bytes.Buffer) error { return renderServers(b, sampleStatus().GetServers()) }},
		{"token.json", func(b *bytes.Buffer) error { return renderToken(b, sampleToken(), "json") }},
		{"token-minimal.json", func(b *bytes.Buffer) error { return renderToken(b, &client.Token{AccessToken: "x"}, "json") }},
		{"token-raw.txt", func(b *bytes.Buffer) error { return renderToken(b, sampleToken(), "raw") }},
		{"token-header.txt", func(b *bytes.Buffer) error { return renderToken(b, sampleToken(), "header") }},
		{"tools.txt", func(b *bytes.Buffer) error {
			return renderTools(b, []*mcp.Tool{{Name: "echo", Description: "Echo the input back.\nSecond line."}, {Name: "add"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.file, b.String())
		})
	}
}

func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s--- want\n%s", file, got, want)
	}
}

// The status of a DPoP sign-in names the key by its thumbprint and marks
// the servers whose tokens are bound to it.
func TestRenderStatusDPoP(t *testing.T) {
	st := sampleStatus()
	st.Identity.DpopJkt, st.Identity.DpopAlgorithm = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "ES256"
	st.Servers[0].TokenType = "DPoP"
	var b bytes.Buffer
	if err := renderStatus(&b, st, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DPoP key: ES256, thumbprint NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs\n", " (DPoP)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}

func TestIdentityLine(t *testing.T) {
	tests := []struct {
		name string
		id   *xaadv1.Identity
		want string
	}{
		{"nil", nil, `signed out; run "xaactl login"`},
		{"needs login", &xaadv1.Identity{
			Subject: "bob", Issuer: "https://idp.example", State: xaadv1.IdentityState_IDENTITY_STATE_NEEDS_LOGIN,
			LoginHintReason: "refresh token revoked",
		}, `bob at https://idp.example, needs login (refresh token revoked); run "xaactl login"`},
		{"no refresh token", &xaadv1.Identity{
			Subject: "bob", State: xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN, IdTokenExpiresAt: at(-time.Minute),
		}, "bob, signed in, ID token expires 1m ago (no refresh token: sign in again before then)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := identityLine(tt.id, now); got != tt.want {
				t.Errorf("identityLine =\n %q, want\n %q", got, tt.want)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{59*time.Second + 900*time.Millisecond, "59s"},
		{90 * time.Second, "1m"},
		{3*time.Hour + 4*time.Minute, "3h04m"},
		{47 * time.Hour, "47h00m"},
		{72 * time.Hour, "3d"},
	}
	for _, tt := range tests {
		if got := shortDuration(tt.d); got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
