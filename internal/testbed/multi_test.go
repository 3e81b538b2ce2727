package testbed

import (
	"net/http"
	"testing"
)

// With ExtraMCPServers, each server is its own resource behind the one AS:
// the grants bind a token to the server named, that server accepts it and
// the others refuse it, and an ID-JAG for one server buys no token for
// another.
func TestExtraMCPServers(t *testing.T) {
	tb := start(t, Options{ExtraMCPServers: 2})
	if len(tb.MCPs) != 3 || tb.MCPs[0] != tb.MCP || tb.MCPs[1].URL() == tb.MCP.URL() {
		t.Fatalf("servers %v", tb.MCPs)
	}
	second := tb.MCPs[1].URL()
	jag := func(resource string) string {
		f := exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{}))
		f.Set("resource", resource)
		r := postForm(t, tb, tb.IdP.TokenEndpoint(), f, idpBasic(tb))
		if r.status != http.StatusOK {
			t.Fatalf("exchange for %s: %d %v", resource, r.status, r.body)
		}
		return r.str("access_token")
	}
	f := bearerForm(jag(second))
	f.Set("resource", second)
	r := postForm(t, tb, tb.AS.TokenEndpoint(), f, asBasic(tb))
	if r.status != http.StatusOK {
		t.Fatalf("jwt-bearer for the second server: %d %v", r.status, r.body)
	}
	at := r.str("access_token")
	if _, c := decodeJWT(t, at); c["aud"] != second {
		t.Errorf("access token aud %v, want %s", c["aud"], second)
	}
	if r := mcpPost(t, tb, second, at); r.status != http.StatusOK {
		t.Errorf("the second server refused its token: %d", r.status)
	}
	if r := mcpPost(t, tb, tb.MCP.URL(), at); r.status != http.StatusUnauthorized {
		t.Errorf("the first server took the second's token: %d", r.status)
	}
	f = bearerForm(jag(tb.MCP.URL()))
	f.Set("resource", second)
	wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), f, asBasic(tb)), http.StatusBadRequest, "invalid_grant")
	if _, err := Start(Options{ExtraMCPServers: 65}); err == nil {
		t.Error("65 extra servers accepted")
	}
}
