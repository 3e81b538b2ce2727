package testbed

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQueuedFaults(t *testing.T) {
	tb := start(t, Options{})
	tb.QueueFault(EndpointIdPToken, 2, Fault{Error: "insufficient_user_authentication", Description: "step up", Extra: map[string]any{"max_age": 0}})
	for range 2 {
		r := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})), idpBasic(tb))
		wantOAuthError(t, r, 400, "insufficient_user_authentication")
		if r.body["max_age"] != 0.0 || r.str("error_description") != "step up" {
			t.Errorf("body = %v", r.body)
		}
	}
	exchange(t, tb) // the queue is drained
	c := tb.Counters()
	if c.Requests[EndpointIdPToken] != 3 || c.Errors[EndpointIdPToken] != 2 || c.TokenExchanges != 1 {
		t.Errorf("counters = %+v", c)
	}
}

func TestResponseFaults(t *testing.T) {
	tb := start(t, Options{})
	tests := []struct {
		name  string
		fault Fault
		check func(t *testing.T, resp *http.Response, body []byte)
	}{
		{"status", Fault{Status: 503}, func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.StatusCode != 503 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}},
		{"garbage", Fault{Body: []byte(`{"access_token":`)}, func(t *testing.T, resp *http.Response, b []byte) {
			if resp.StatusCode != 200 || string(b) != `{"access_token":` {
				t.Errorf("got %d %q", resp.StatusCode, b)
			}
		}},
		{"oversize", Fault{OversizeBytes: 2 << 20}, func(t *testing.T, resp *http.Response, b []byte) {
			if len(b) < 2<<20 {
				t.Errorf("body %d bytes", len(b))
			}
		}},
		{"redirect", Fault{RedirectTo: "http://127.0.0.1:1/token"}, func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://127.0.0.1:1/token" {
				t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		}},
		{"latency then normal", Fault{Latency: time.Millisecond}, func(t *testing.T, resp *http.Response, _ []byte) {
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb.QueueFault(EndpointASToken, 1, tc.fault)
			f := bearerForm(exchange(t, tb))
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tb.AS.TokenEndpoint(), strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			asBasic(tb)(req)
			resp, err := tb.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			tc.check(t, resp, body)
		})
	}
}

// TestHangEndsWithContext drives the handler in-process so no timing is
// involved: a hanging request returns as soon as its context is done.
func TestHangEndsWithContext(t *testing.T) {
	tb := start(t, Options{})
	tb.SetFault(EndpointPRM, Fault{Hang: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/.well-known/oauth-protected-resource/mcp", nil)
	rec := httptest.NewRecorder()
	tb.MCP.handler().ServeHTTP(rec, req)
	if rec.Body.Len() != 0 || rec.Flushed {
		t.Errorf("hang wrote a response: %q", rec.Body.String())
	}
	// A latency fault also yields to the context.
	tb.SetFault(EndpointPRM, Fault{Latency: time.Hour})
	tb.MCP.handler().ServeHTTP(httptest.NewRecorder(), req)
	tb.ClearFaults()
	if r := get(t, tb, tb.MCP.PRMURL()); r.status != 200 {
		t.Errorf("after ClearFaults: %d", r.status)
	}
	if got := tb.Requests(EndpointPRM); got != 3 {
		t.Errorf("PRM requests = %d", got)
	}
}

// TestCloseReleasesHang: Close does not wait for hanging handlers.
func TestCloseReleasesHang(t *testing.T) {
	tb, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb.SetFault(EndpointIdPMetadata, Fault{Hang: true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tb.IdP.handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	}()
	tb.Close()
	<-done
}

func TestMetadataTweaks(t *testing.T) {
	tb := start(t, Options{})
	tb.AS.SetTweaks(ASTweaks{MetadataIssuer: "https://evil.example", OmitJWTBearer: true, OmitGrantProfile: true})
	md := get(t, tb, tb.AS.MetadataURL())
	if md.str("issuer") != "https://evil.example" || strings.Contains(md.str("grant_types_supported"), "jwt-bearer") || md.body["authorization_grant_profiles_supported"] != nil {
		t.Errorf("AS metadata = %v", md.body)
	}
	tb.MCP.SetTweaks(MCPTweaks{PRMResource: "https://other.example/mcp", PRMAuthorizationServers: []string{}})
	prm := get(t, tb, tb.MCP.PRMURL())
	if prm.str("resource") != "https://other.example/mcp" || len(prm.body["authorization_servers"].([]any)) != 0 {
		t.Errorf("PRM = %v", prm.body)
	}
	tb.AS.SetTweaks(ASTweaks{AccessTokenLifetime: 30 * time.Second, RefreshTokenInResponse: true})
	r := postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb))
	if r.body["expires_in"] != 30.0 || r.str("refresh_token") == "" {
		t.Errorf("tweaked AS response = %v", r.body)
	}
}
