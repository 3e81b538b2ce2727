package testbed

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func mcpPost(t *testing.T, tb *Testbed, target, token string) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, tb, req)
}

// TestMCPServerRejections covers docs/protocol.md §6 items 37 and 38 and the RFC
// 6750 / RFC 9728 §5.1 challenges.
func TestMCPServerRejections(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now})
	at := func(edit map[string]any, typ string) string {
		c := tb.AS.AccessTokenClaims()
		applyExtra(c, edit)
		tok, err := tb.AS.SignJWT(typ, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	idpSigned, _ := tb.IdP.SignJWT(typAccessToken, tb.AS.AccessTokenClaims())
	now := clock.Now().Unix()
	tests := []struct {
		name  string
		token string
	}{
		{"raw ID token", mustIDToken(t, tb, IDTokenOptions{})},
		{"ID-JAG", exchange(t, tb)},
		{"other resource", at(map[string]any{"aud": "http://127.0.0.1:1/mcp"}, typAccessToken)},
		{"resource with trailing slash", at(map[string]any{"aud": tb.MCP.URL() + "/"}, typAccessToken)},
		{"expired", at(map[string]any{"iat": now - 7200, "exp": now - 3600}, typAccessToken)},
		{"other issuer", at(map[string]any{"iss": tb.IdP.Issuer()}, typAccessToken)},
		{"typ JWT", at(nil, "JWT")},
		{"signed by IdP", idpSigned},
		{"garbage", "not-a-token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mcpPost(t, tb, tb.MCP.URL(), tc.token)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status = %d", r.status)
			}
			want := `Bearer error="invalid_token", error_description="the access token is not valid for this resource", resource_metadata="` + tb.MCP.PRMURL() + `", scope="tools.read tools.call"`
			if got := r.header.Get("WWW-Authenticate"); got != want {
				t.Errorf("challenge = %q", got)
			}
		})
	}
	if r := mcpPost(t, tb, tb.MCP.URL()+"?access_token="+at(nil, typAccessToken), ""); r.status != http.StatusBadRequest {
		t.Errorf("token in query: %d", r.status)
	}
	if r := mcpPost(t, tb, tb.MCP.URL(), at(nil, typAccessToken)); r.status != http.StatusOK {
		t.Errorf("valid token: %d", r.status)
	}
	// The access token expires by the testbed clock, with skew.
	tok := accessToken(t, tb)
	clock.Advance(time.Hour + 61*time.Second)
	if r := mcpPost(t, tb, tb.MCP.URL(), tok); r.status != http.StatusUnauthorized {
		t.Errorf("expired by clock: %d", r.status)
	}
}

func TestMCPServerInsufficientScope(t *testing.T) {
	tb := start(t, Options{RequiredScopes: []string{"tools.call"}, GrantableScopes: []string{"tools.read"}})
	r := mcpPost(t, tb, tb.MCP.URL(), accessToken(t, tb))
	want := `Bearer error="insufficient_scope", error_description="the access token lacks a required scope", resource_metadata="` + tb.MCP.PRMURL() + `", scope="tools.call"`
	if r.status != http.StatusForbidden || r.header.Get("WWW-Authenticate") != want {
		t.Fatalf("got %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	if c := tb.Counters(); c.MCPCalls != 0 || c.Errors[EndpointMCP] != 1 {
		t.Errorf("counters = %+v", c)
	}
}
