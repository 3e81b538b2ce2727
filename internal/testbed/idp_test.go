package testbed

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestExchangeRejections covers docs/protocol.md §6 items 20-22 and the §2 step 4
// parameter rules.
func TestExchangeRejections(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now, ExtraAudiences: map[string][]string{
		"https://other-as.example": {"https://other-mcp.example/mcp"},
	}})
	good := func() url.Values { return exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})) }
	withToken := func(o IDTokenOptions) url.Values {
		f := good()
		f.Set("subject_token", mustIDToken(t, tb, o))
		return f
	}
	set := func(k, v string) url.Values { f := good(); f.Set(k, v); return f }
	del := func(k string) url.Values { f := good(); f.Del(k); return f }
	unsigned := func() url.Values {
		f := good()
		f.Set("subject_token", rawJWT(t, map[string]any{"alg": "none", "typ": "JWT"},
			map[string]any{"iss": tb.IdP.Issuer(), "sub": "alice", "aud": "idp-client", "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix()},
			func(string) []byte { return nil }))
		return f
	}

	tests := []struct {
		name   string
		form   url.Values
		auth   func(*http.Request) // nil: the IdP client's Basic credentials
		status int
		code   string
	}{
		// Item 21 and client authentication.
		{"no client auth", good(), noAuth, 401, "invalid_client"},
		{"wrong secret", good(), basicAuth("idp-client", "nope"), 401, "invalid_client"},
		{"unknown client", good(), basicAuth("someone", "idp-secret"), 401, "invalid_client"},
		{"AS credentials at IdP", good(), basicAuth("mcp-client", "mcp-secret"), 401, "invalid_client"},
		{"post instead of basic", func() url.Values {
			f := good()
			f.Set("client_id", "idp-client")
			f.Set("client_secret", "idp-secret")
			return f
		}(), noAuth, 401, "invalid_client"},
		{"two auth methods", set("client_secret", "idp-secret"), nil, 400, "invalid_request"},
		{"bearer scheme", good(), func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, 401, "invalid_client"},
		// Parameters.
		{"no grant_type", del("grant_type"), nil, 400, "invalid_request"},
		{"other grant_type", set("grant_type", "client_credentials"), nil, 400, "unsupported_grant_type"},
		{"requested access_token", set("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"), nil, 400, "invalid_request"},
		{"no requested_token_type", del("requested_token_type"), nil, 400, "invalid_request"},
		{"saml2 subject", set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"), nil, 400, "invalid_request"},
		{"no subject_token", del("subject_token"), nil, 400, "invalid_request"},
		{"actor_token", set("actor_token", "x"), nil, 400, "invalid_request"},
		{"duplicate scope", func() url.Values { f := good(); f.Add("scope", "tools.read"); return f }(), nil, 400, "invalid_request"},
		{"duplicate resource", func() url.Values { f := good(); f.Add("resource", tb.MCP.URL()); return f }(), nil, 400, "invalid_request"},
		// Item 20: the subject token.
		{"ID token for another client", withToken(IDTokenOptions{Audience: "other-client"}), nil, 400, "invalid_request"},
		{"expired ID token", withToken(IDTokenOptions{IssuedAt: clock.Now().Add(-2 * time.Hour), Lifetime: time.Hour}), nil, 400, "invalid_request"},
		{"ID token from foreign key", withToken(IDTokenOptions{ForeignKey: true}), nil, 400, "invalid_request"},
		{"ID token from another issuer", withToken(IDTokenOptions{Issuer: "https://evil.example"}), nil, 400, "invalid_request"},
		{"ID token iat in future", withToken(IDTokenOptions{IssuedAt: clock.Now().Add(10 * time.Minute)}), nil, 400, "invalid_request"},
		{"unsigned ID token", unsigned(), nil, 400, "invalid_request"},
		{"ID token without exp", withToken(IDTokenOptions{Extra: map[string]any{"exp": nil}}), nil, 400, "invalid_request"},
		{"ID token with string exp", withToken(IDTokenOptions{Extra: map[string]any{"exp": "9999999999"}}), nil, 400, "invalid_request"},
		// Item 22: audience and resource.
		{"no audience", del("audience"), nil, 400, "invalid_request"},
		{"unknown audience", set("audience", "https://unknown.example"), nil, 400, "invalid_target"},
		{"audience with trailing slash", set("audience", tb.AS.Issuer()+"/"), nil, 400, "invalid_target"},
		{"audience is token endpoint", set("audience", tb.AS.TokenEndpoint()), nil, 400, "invalid_target"},
		{"audience is PRM URL", set("audience", tb.MCP.URL()), nil, 400, "invalid_target"},
		{"no resource", del("resource"), nil, 400, "invalid_target"},
		{"resource of another AS", set("resource", "https://other-mcp.example/mcp"), nil, 400, "invalid_target"},
		{"resource with trailing slash", set("resource", tb.MCP.URL()+"/"), nil, 400, "invalid_target"},
		{"no allowed scope", set("scope", "admin"), nil, 400, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			if auth == nil {
				auth = idpBasic(tb)
			}
			r := postForm(t, tb, tb.IdP.TokenEndpoint(), tc.form, auth)
			t.Log(r.str("error_description"))
			wantOAuthError(t, r, tc.status, tc.code)
			checkBasicChallenge(t, r, auth)
		})
	}
	if n := tb.TokenExchanges(); n != 0 {
		t.Errorf("TokenExchanges = %d after only rejections", n)
	}
}

func TestExchangeOtherRequestShapes(t *testing.T) {
	tb := start(t, Options{})
	f := exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{}))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tb.IdP.TokenEndpoint()+"?"+f.Encode(), nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	idpBasic(tb)(req)
	wantOAuthError(t, do(t, tb, req), 400, "invalid_request")

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, tb.IdP.TokenEndpoint(), nil)
	req.Header.Set("Content-Type", "application/json")
	idpBasic(tb)(req)
	wantOAuthError(t, do(t, tb, req), 400, "invalid_request")

	if r := get(t, tb, tb.IdP.TokenEndpoint()); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint = %d", r.status)
	}
}

// TestExchangeNarrowsScope checks that granted scopes are reflected in the
// response and the ID-JAG (docs/protocol.md §6 item 23, RFC 8693 §2.2.1).
func TestExchangeNarrowsScope(t *testing.T) {
	tb := start(t, Options{GrantableScopes: []string{"tools.read"}})
	f := exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{}))
	f.Set("scope", "tools.read tools.call unknown")
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), f, idpBasic(tb))
	if r.status != 200 || r.str("scope") != "tools.read" {
		t.Fatalf("exchange = %d %v", r.status, r.body)
	}
	if _, c := decodeJWT(t, r.str("access_token")); c["scope"] != "tools.read" {
		t.Errorf("ID-JAG scope = %v", c["scope"])
	}
	// Without a scope parameter the policy's scopes are granted and named.
	f.Del("scope")
	r = postForm(t, tb, tb.IdP.TokenEndpoint(), f, idpBasic(tb))
	if r.status != 200 || r.str("scope") != "tools.read" {
		t.Fatalf("exchange without scope = %d %v", r.status, r.body)
	}
}

// TestExchangeFreshJTI: every ID-JAG has its own jti (item 23).
func TestExchangeFreshJTI(t *testing.T) {
	tb := start(t, Options{})
	_, a := decodeJWT(t, exchange(t, tb))
	_, b := decodeJWT(t, exchange(t, tb))
	if a["jti"] == b["jti"] {
		t.Errorf("jti repeated: %v", a["jti"])
	}
}

func TestIdPKeyRotation(t *testing.T) {
	tb := start(t, Options{})
	accessToken(t, tb) // the AS caches the first key set
	oldIDToken := mustIDToken(t, tb, IDTokenOptions{})
	if _, err := tb.IdP.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	jwks := tb.Requests(EndpointIdPJWKS)
	// A new kid makes the AS refetch the JWKS once.
	accessToken(t, tb)
	if got := tb.Requests(EndpointIdPJWKS); got != jwks+1 {
		t.Errorf("JWKS fetches = %d, want %d", got, jwks+1)
	}
	// The old key is still published: a token it signed still exchanges.
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, oldIDToken), idpBasic(tb))
	if r.status != 200 {
		t.Fatalf("old-key ID token after rotation: %d %v", r.status, r.body)
	}
	// Withdrawn keys no longer verify.
	if _, err := tb.IdP.RotateKey(false); err != nil {
		t.Fatal(err)
	}
	r = postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, oldIDToken), idpBasic(tb))
	wantOAuthError(t, r, 400, "invalid_request")
}

func TestRefreshTokenRotation(t *testing.T) {
	tb := start(t, Options{})
	rt := tb.IdP.IssueRefreshToken()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), form, idpBasic(tb))
	if r.status != 200 || r.str("refresh_token") == "" || r.str("refresh_token") == rt || r.str("id_token") == "" {
		t.Fatalf("refresh = %d %v", r.status, r.body)
	}
	next := r.str("refresh_token")
	// The new ID token is a valid subject token.
	ex := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, r.str("id_token")), idpBasic(tb))
	if ex.status != 200 {
		t.Fatalf("exchange of refreshed ID token: %d %v", ex.status, ex.body)
	}
	// Reuse of the rotated-out token fails and revokes its successor.
	wantOAuthError(t, postForm(t, tb, tb.IdP.TokenEndpoint(), form, idpBasic(tb)), 400, "invalid_grant")
	form.Set("refresh_token", next)
	wantOAuthError(t, postForm(t, tb, tb.IdP.TokenEndpoint(), form, idpBasic(tb)), 400, "invalid_grant")
	if n := tb.Counters().RefreshGrants; n != 1 {
		t.Errorf("RefreshGrants = %d", n)
	}
}
