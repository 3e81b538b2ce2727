package testbed

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestMCPRefusesGET(t *testing.T) {
	tb := start(t, Options{MCPRefusesGET: true})
	c := tb.HTTPClient()
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, tb.MCP.URL(), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: HTTP %d, challenge %q; want 405 without a challenge", method, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	resp, err := c.Post(tb.MCP.URL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"server/discover"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Errorf("POST: HTTP %d, challenge %q; want 401 with the hints", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// RFC 8414 §2 makes response_types_supported REQUIRED.
func TestASMetadataHasResponseTypes(t *testing.T) {
	for _, style := range []MetadataStyle{MetadataRFC8414, MetadataOIDC} {
		tb := start(t, Options{ASMetadata: style})
		resp, err := tb.HTTPClient().Get(tb.AS.MetadataURL())
		if err != nil {
			t.Fatal(err)
		}
		var md map[string]json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&md)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var rts []string
		if err := json.Unmarshal(md["response_types_supported"], &rts); err != nil || rts == nil {
			t.Errorf("style %d: response_types_supported is %s, want a JSON array", style, md["response_types_supported"])
		}
	}
}
