package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client/clienttest"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// mcpServer is a Streamable HTTP MCP server with two tools that accepts only
// "Bearer " + accept.
func mcpServer(t *testing.T, accept string) *httptest.Server {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "probe-test", Version: "1"}, nil)
	type in struct {
		Text string `json:"text"`
	}
	echo := func(_ context.Context, _ *mcp.CallToolRequest, v in) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: v.Text}}}, nil, nil
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "Echo the text back."}, echo)
	mcp.AddTool(srv, &mcp.Tool{Name: "shout", Description: "Echo it louder."}, echo)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+accept {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// tokenDaemon hands out "old" normally and "good" when forced, so a probe
// against a server that accepts only "good" exercises the 401 retry.
func tokenDaemon() *clienttest.Fake {
	return &clienttest.Fake{
		GetTokenFunc: func(_ context.Context, r *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			tok := "old"
			if r.GetForceRefresh() {
				tok = "good"
			}
			return &xaadv1.GetTokenResponse{AccessToken: tok, TokenType: "Bearer", Resource: r.GetResource()}, nil
		},
	}
}

func TestProbe(t *testing.T) {
	ts := mcpServer(t, "good")
	socket := clienttest.Serve(t, tokenDaemon())
	r := run(t, socket, "", "probe", ts.URL)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	want := "2 tools\n  echo   Echo the text back.\n  shout  Echo it louder.\n"
	if r.stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, want)
	}
	if !strings.HasPrefix(r.stderr, "token: Bearer") || strings.Contains(r.stderr, "good") {
		t.Errorf("stderr = %q, want a token summary without the token", r.stderr)
	}
}

func TestProbeRejected(t *testing.T) {
	ts := mcpServer(t, "never-issued")
	socket := clienttest.Serve(t, tokenDaemon())
	r := run(t, socket, "", "probe", ts.URL)
	if r.code != ExitError {
		t.Errorf("exit %d, want %d", r.code, ExitError)
	}
	if !strings.Contains(r.stderr, "probe "+ts.URL+": open MCP session") || strings.Contains(r.stderr, "good") {
		t.Errorf("stderr = %q, want a clear error without the token", r.stderr)
	}
}
