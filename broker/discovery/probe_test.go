package discovery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func startTB(t *testing.T, o testbed.Options) *testbed.Testbed {
	t.Helper()
	tb, err := testbed.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	return tb
}

// MCP 2026-07-28 servers answer GET on the MCP endpoint with 405; a GET
// probe lost the 401's resource_metadata and scope hints. The probe is a
// POST of an MCP request, with the request metadata headers.
func TestProbeWorksWithServersThatRefuseGET(t *testing.T) {
	tb := startTB(t, testbed.Options{MCPRefusesGET: true, Scopes: []string{"files.read", "files.write"}})
	c := &discovery.Client{HTTP: tb.HTTPClient()}
	r, err := c.ProtectedResource(context.Background(), tb.MCP.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.ChallengeScopes, []string{"files.read", "files.write"}) {
		t.Errorf("challenge scopes %q: the 401's scope hint was lost", r.ChallengeScopes)
	}
	if r.MetadataURL != tb.MCP.PRMURL() {
		t.Errorf("PRM found at %s, want the resource_metadata hint %s", r.MetadataURL, tb.MCP.PRMURL())
	}
	probe, ok := tb.LastRequest(testbed.EndpointMCP)
	if !ok || probe.Method != http.MethodPost || probe.Header.Get("MCP-Protocol-Version") != discovery.ProbeProtocolVersion ||
		probe.Header.Get("Mcp-Method") != "server/discover" || !strings.HasPrefix(probe.Header.Get("Content-Type"), "application/json") {
		t.Errorf("probe %s with headers %v, want a POST of server/discover with the 2026-07-28 request headers", probe.Method, probe.Header)
	}
	if n := tb.Requests(testbed.EndpointMCP); n != 1 {
		t.Errorf("%d requests to the MCP endpoint, want the one probe", n)
	}
}

// A server that takes only DPoP-bound tokens answers 401 with a DPoP
// challenge alone (RFC 9449 §7.1); its hints count as a Bearer's do.
func TestProbeReadsDPoPChallenges(t *testing.T) {
	tb := startTB(t, testbed.Options{DPoP: testbed.DPoPOptions{Enabled: true, RequireProof: true}})
	c := &discovery.Client{HTTP: tb.HTTPClient()}
	r, err := c.ProtectedResource(context.Background(), tb.MCP.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ChallengeScopes) == 0 || r.MetadataURL != tb.MCP.PRMURL() {
		t.Errorf("DPoP challenge hints lost: scopes %q, PRM at %s", r.ChallengeScopes, r.MetadataURL)
	}
}

// An endpoint of the older HTTP+SSE transport refuses POST with 405: then
// GET is asked, and its 401 still gives the hints. The well-known fallback
// order is unchanged: the hint first, then path-based, then root.
func TestProbeFallsBackToGETAndWellKnown(t *testing.T) {
	var prmURL string
	var methods []string
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+prmURL+`", scope="a b"`)
		http.Error(w, "no token", http.StatusUnauthorized)
	})
	mux.HandleFunc("/meta/prm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"resource":"` + srv.URL + `/sse","authorization_servers":["https://as.example"]}`))
	})
	prmURL = srv.URL + "/meta/prm"
	c := &discovery.Client{}
	r, err := c.ProtectedResource(context.Background(), srv.URL+"/sse")
	if err != nil {
		t.Fatal(err)
	}
	if r.MetadataURL != prmURL || !slices.Equal(r.ChallengeScopes, []string{"a", "b"}) || !slices.Equal(methods, []string{"POST", "GET"}) {
		t.Errorf("PRM at %s, scopes %q, probes %v", r.MetadataURL, r.ChallengeScopes, methods)
	}
}

// Hints that are not what they claim are ignored, never half-used.
func TestProbeIgnoresBadHints(t *testing.T) {
	for _, challenge := range []string{
		`Bearer resource_metadata="http://evil.example/prm", scope="a \"b\""`,
		`Bearer resource_metadata="https://x/prm", resource_metadata="https://y/prm"`,
		"Bearer resource_metadata=\"https://\xff/prm\", scope=\"a\xffb\"",
		`Bearer resource_metadata="https://x/prm#frag", scope=""`,
		`Bearer resource_metadata=https://x/prm`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/mcp" {
				w.Header().Set("WWW-Authenticate", challenge)
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			http.NotFound(w, r)
		}))
		c := &discovery.Client{}
		_, err := c.ProtectedResource(context.Background(), srv.URL+"/mcp")
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "/.well-known/oauth-protected-resource") {
			t.Errorf("%q: err = %v; want the well-known URLs tried and nothing else", challenge, err)
		}
	}
}
