package testbed

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerTransport adds the access token to every MCP request.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// TestHappyPath walks docs/protocol.md §2 by hand: 401, PRM, AS metadata, token
// exchange, jwt-bearer, MCP tool calls through the go-sdk client.
func TestHappyPath(t *testing.T) {
	tb := start(t, Options{})

	// Step 2: the challenge points at the PRM.
	r := get(t, tb, tb.MCP.URL())
	if r.status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated MCP: %d", r.status)
	}
	want := `Bearer resource_metadata="` + tb.MCP.PRMURL() + `", scope="tools.read tools.call"`
	if got := r.header.Get("WWW-Authenticate"); got != want {
		t.Errorf("challenge = %q, want %q", got, want)
	}
	prm := get(t, tb, tb.MCP.PRMURL())
	if prm.str("resource") != tb.MCP.URL() || !slices.Equal(toStrings(prm.body["authorization_servers"]), []string{tb.AS.Issuer()}) {
		t.Fatalf("PRM = %v", prm.body)
	}

	// Step 3 and item 34.
	md := get(t, tb, tb.AS.MetadataURL())
	if md.str("issuer") != tb.AS.Issuer() || md.str("token_endpoint") != tb.AS.TokenEndpoint() ||
		!slices.Contains(toStrings(md.body["grant_types_supported"]), grantJWTBearer) ||
		!slices.Equal(toStrings(md.body["authorization_grant_profiles_supported"]), []string{profileIDJAG}) {
		t.Fatalf("AS metadata = %v", md.body)
	}
	idpMD := get(t, tb, tb.IdP.MetadataURL())
	if idpMD.str("issuer") != tb.IdP.Issuer() ||
		!slices.Contains(toStrings(idpMD.body["identity_chaining_requested_token_types_supported"]), tokenTypeIDJAG) ||
		!slices.Contains(toStrings(idpMD.body["grant_types_supported"]), grantTokenExchange) {
		t.Fatalf("IdP metadata = %v", idpMD.body)
	}

	// Step 4 and item 23.
	idToken := mustIDToken(t, tb, IDTokenOptions{Nonce: "n-1"})
	ex := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, idToken), idpBasic(tb))
	if ex.status != http.StatusOK || ex.header.Get("Cache-Control") != "no-store" ||
		ex.str("issued_token_type") != tokenTypeIDJAG || ex.str("token_type") != "N_A" || ex.body["expires_in"] != 300.0 {
		t.Fatalf("exchange = %d %v", ex.status, ex.body)
	}
	if _, ok := ex.body["scope"]; ok {
		t.Errorf("scope returned although not narrowed: %v", ex.body["scope"])
	}
	jag := ex.str("access_token")
	h, c := decodeJWT(t, jag)
	if h["typ"] != typIDJAG || h["alg"] != "ES256" || h["kid"] == nil {
		t.Errorf("ID-JAG header = %v", h)
	}
	if c["iss"] != tb.IdP.Issuer() || c["sub"] != "alice" || c["aud"] != tb.AS.Issuer() ||
		c["client_id"] != "mcp-client" || c["resource"] != tb.MCP.URL() || c["scope"] != "tools.read tools.call" ||
		c["jti"] == "" || c["exp"].(float64)-c["iat"].(float64) != 300 {
		t.Errorf("ID-JAG claims = %v", c)
	}
	rec, _ := tb.LastRequest(EndpointIdPToken)
	if rec.ClientID != "idp-client" || rec.ClientAuth != AuthClientSecretBasic || rec.Form.Get("audience") != tb.AS.Issuer() {
		t.Errorf("IdP record = %+v", rec)
	}

	// Step 5 and item 24.
	bf := bearerForm(jag)
	bf.Set("scope", "tools.read tools.call")
	bf.Set("resource", tb.MCP.URL())
	at := postForm(t, tb, tb.AS.TokenEndpoint(), bf, asBasic(tb))
	if at.status != http.StatusOK || at.str("token_type") != "Bearer" || at.str("scope") != "tools.read tools.call" ||
		at.body["expires_in"] != 3600.0 || at.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("jwt-bearer = %d %v", at.status, at.body)
	}
	if _, ok := at.body["refresh_token"]; ok {
		t.Error("AS returned a refresh_token")
	}
	if _, c := decodeJWT(t, at.str("access_token")); c["aud"] != tb.MCP.URL() || c["client_id"] != "mcp-client" {
		t.Errorf("access token claims = %v", c)
	}

	// Step 6 through the go-sdk client.
	httpc := &http.Client{Transport: bearerTransport{token: at.str("access_token"), base: tb.transport}}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	sess, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: tb.MCP.URL(), HTTPClient: httpc, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer sess.Close()
	res, err := sess.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi there"}})
	if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != "hi there" {
		t.Fatalf("echo = %+v, %v", res, err)
	}
	res, err = sess.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami = %+v, %v", res, err)
	}
	var who WhoAmI
	if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &who); err != nil {
		t.Fatal(err)
	}
	if who.Subject != "alice" || who.ClientID != "mcp-client" || strings.Join(who.Scopes, " ") != "tools.read tools.call" {
		t.Errorf("whoami = %+v", who)
	}

	cs := tb.Counters()
	if cs.TokenExchanges != 1 || cs.JWTBearerGrants != 1 || cs.Requests[EndpointPRM] != 1 || cs.MCPCalls == 0 {
		t.Errorf("counters = %+v", cs)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestConcurrentFlows runs whole flows in parallel for the race detector.
func TestConcurrentFlows(t *testing.T) {
	tb := start(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			tok := accessTokenNoFatal(tb)
			if tok == "" {
				t.Error("flow failed")
			}
		})
	}
	wg.Wait()
	if got := tb.JWTBearerGrants(); got != 8 {
		t.Errorf("JWTBearerGrants = %d, want 8", got)
	}
}

// accessTokenNoFatal is accessToken for goroutines other than the test's.
func accessTokenNoFatal(tb *Testbed) string {
	idt, err := tb.IdP.MintIDToken(IDTokenOptions{})
	if err != nil {
		return ""
	}
	post := func(u string, form map[string][]string, id, secret string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(encode(form)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := tb.HTTPClient().Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	ex := post(tb.IdP.TokenEndpoint(), exchangeForm(tb, idt), "idp-client", "idp-secret")
	jag, _ := ex["access_token"].(string)
	at := post(tb.AS.TokenEndpoint(), bearerForm(jag), "mcp-client", "mcp-secret")
	tok, _ := at["access_token"].(string)
	return tok
}
