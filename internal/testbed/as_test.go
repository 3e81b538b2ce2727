package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestJWTBearerRejections covers docs/protocol.md §6 items 25-33.
func TestJWTBearerRejections(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now})
	now := clock.Now().Unix()
	claims := func(edit map[string]any) map[string]any {
		c := tb.IdP.IDJAGClaims()
		applyExtra(c, edit)
		return c
	}
	signed := func(typ string, edit map[string]any) string {
		tok, err := tb.IdP.SignJWT(typ, claims(edit))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	jag := func(edit map[string]any) string { return signed(typIDJAG, edit) }
	kid := tb.IdP.keys.current().KeyID

	strangerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	byStranger := func(kid string) string {
		tok, err := sign(jose.JSONWebKey{Key: strangerKey, KeyID: kid, Algorithm: "ES256"}, typIDJAG, claims(nil))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(tb.IdP.keys.public().Keys[0].Key)
	pubJSON, _ := json.Marshal(tb.IdP.keys.public().Keys[0])
	hmacWith := func(key []byte) func(string) []byte {
		return func(in string) []byte { m := hmac.New(sha256.New, key); m.Write([]byte(in)); return m.Sum(nil) }
	}
	tampered := func() string {
		parts := strings.Split(jag(nil), ".")
		other := strings.Split(jag(map[string]any{"sub": "mallory"}), ".")
		return parts[0] + "." + other[1] + "." + parts[2]
	}()

	tests := []struct {
		name   string
		form   url.Values
		auth   func(*http.Request) // nil: the AS client's Basic credentials
		status int
		code   string
	}{
		// Item 25: typ, alg, signature, issuer.
		{"typ JWT", bearerForm(signed("JWT", nil)), nil, 400, "invalid_grant"},
		{"typ missing", bearerForm(signed("", nil)), nil, 400, "invalid_grant"},
		{"typ at+jwt", bearerForm(signed("at+jwt", nil)), nil, 400, "invalid_grant"},
		{"typ with application/ prefix", bearerForm(signed("application/oauth-id-jag+jwt", nil)), nil, 400, "invalid_grant"},
		{"alg none", bearerForm(rawJWT(t, map[string]any{"alg": "none", "typ": typIDJAG}, claims(nil), func(string) []byte { return nil })), nil, 400, "invalid_grant"},
		{"HS256 keyed with public key DER", bearerForm(rawJWT(t, map[string]any{"alg": "HS256", "typ": typIDJAG, "kid": kid}, claims(nil), hmacWith(pubDER))), nil, 400, "invalid_grant"},
		{"HS256 keyed with JWK", bearerForm(rawJWT(t, map[string]any{"alg": "HS256", "typ": typIDJAG, "kid": kid}, claims(nil), hmacWith(pubJSON))), nil, 400, "invalid_grant"},
		{"bad signature", bearerForm(tampered), nil, 400, "invalid_grant"},
		{"stranger key with IdP kid", bearerForm(byStranger(kid)), nil, 400, "invalid_grant"},
		{"unknown kid", bearerForm(byStranger("idp-99")), nil, 400, "invalid_grant"},
		{"untrusted iss", bearerForm(jag(map[string]any{"iss": "https://evil.example"})), nil, 400, "invalid_grant"},
		{"iss is the AS", bearerForm(jag(map[string]any{"iss": tb.AS.Issuer()})), nil, 400, "invalid_grant"},
		{"JWE", bearerForm("a.b.c.d.e"), nil, 400, "invalid_grant"},
		{"not a JWT", bearerForm("garbage"), nil, 400, "invalid_grant"},
		// Item 26: aud.
		{"aud other", bearerForm(jag(map[string]any{"aud": "https://other-as.example"})), nil, 400, "invalid_grant"},
		{"aud two elements", bearerForm(jag(map[string]any{"aud": []string{tb.AS.Issuer(), "https://other-as.example"}})), nil, 400, "invalid_grant"},
		{"aud token endpoint", bearerForm(jag(map[string]any{"aud": tb.AS.TokenEndpoint()})), nil, 400, "invalid_grant"},
		{"aud trailing slash", bearerForm(jag(map[string]any{"aud": tb.AS.Issuer() + "/"})), nil, 400, "invalid_grant"},
		{"aud missing", bearerForm(jag(map[string]any{"aud": nil})), nil, 400, "invalid_grant"},
		{"aud number", bearerForm(jag(map[string]any{"aud": 7})), nil, 400, "invalid_grant"},
		// Item 27: time.
		{"expired beyond skew", bearerForm(jag(map[string]any{"iat": now - 400, "exp": now - 61})), nil, 400, "invalid_grant"},
		{"exp missing", bearerForm(jag(map[string]any{"exp": nil})), nil, 400, "invalid_grant"},
		{"exp string", bearerForm(jag(map[string]any{"exp": "9999999999"})), nil, 400, "invalid_grant"},
		{"iat missing", bearerForm(jag(map[string]any{"iat": nil})), nil, 400, "invalid_grant"},
		{"iat far future", bearerForm(jag(map[string]any{"iat": now + 3600, "exp": now + 3900})), nil, 400, "invalid_grant"},
		{"nbf in future", bearerForm(jag(map[string]any{"nbf": now + 120})), nil, 400, "invalid_grant"},
		{"lifetime over 24h", bearerForm(jag(map[string]any{"iat": now, "exp": now + 25*3600})), nil, 400, "invalid_grant"},
		// Items 28-29.
		{"jti missing", bearerForm(jag(map[string]any{"jti": nil})), nil, 400, "invalid_grant"},
		{"client_id other", bearerForm(jag(map[string]any{"client_id": "other-client"})), nil, 400, "invalid_grant"},
		{"client_id case differs", bearerForm(jag(map[string]any{"client_id": "MCP-client"})), nil, 400, "invalid_grant"},
		{"client_id is IdP client", bearerForm(jag(map[string]any{"client_id": "idp-client"})), nil, 400, "invalid_grant"},
		{"sub missing", bearerForm(jag(map[string]any{"sub": nil})), nil, 400, "invalid_grant"},
		{"no client auth", bearerForm(jag(nil)), noAuth, 401, "invalid_client"},
		{"IdP credentials at AS", bearerForm(jag(nil)), basicAuth("idp-client", "idp-secret"), 401, "invalid_client"},
		{"wrong AS secret", bearerForm(jag(nil)), basicAuth("mcp-client", "idp-secret"), 401, "invalid_client"},
		// Item 30: resource.
		{"resource other", bearerForm(jag(map[string]any{"resource": "https://other-mcp.example/mcp"})), nil, 400, "invalid_grant"},
		{"resource array with foreign", bearerForm(jag(map[string]any{"resource": []string{tb.MCP.URL(), "https://other-mcp.example/mcp"}})), nil, 400, "invalid_grant"},
		{"resource trailing slash", bearerForm(jag(map[string]any{"resource": tb.MCP.URL() + "/"})), nil, 400, "invalid_grant"},
		{"resource empty array", bearerForm(jag(map[string]any{"resource": []string{}})), nil, 400, "invalid_grant"},
		{"resource param other", withParam(bearerForm(jag(nil)), "resource", "https://other-mcp.example/mcp"), nil, 400, "invalid_target"},
		// Item 31: scope.
		{"requested scope outside ID-JAG", withParam(bearerForm(jag(map[string]any{"scope": "tools.read"})), "scope", "tools.call"), nil, 400, "invalid_scope"},
		// Item 32: cnf without DPoP.
		{"cnf", bearerForm(jag(map[string]any{"cnf": map[string]any{"jkt": "abc"}})), nil, 400, "invalid_grant"},
		// Item 33.
		{"assertion missing", url.Values{"grant_type": {grantJWTBearer}}, nil, 400, "invalid_request"},
		{"assertion repeated", func() url.Values { f := bearerForm(jag(nil)); f.Add("assertion", jag(nil)); return f }(), nil, 400, "invalid_request"},
		{"grant_type missing", url.Values{"assertion": {jag(nil)}}, nil, 400, "invalid_request"},
		{"grant_type token-exchange", withParam(bearerForm(jag(nil)), "grant_type", grantTokenExchange), nil, 400, "unsupported_grant_type"},
		{"grant_type client_credentials", withParam(bearerForm(jag(nil)), "grant_type", "client_credentials"), nil, 400, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := tc.auth
			if auth == nil {
				auth = asBasic(tb)
			}
			r := postForm(t, tb, tb.AS.TokenEndpoint(), tc.form, auth)
			t.Log(r.str("error_description"))
			wantOAuthError(t, r, tc.status, tc.code)
			checkBasicChallenge(t, r, auth)
		})
	}
	if n := tb.JWTBearerGrants(); n != 0 {
		t.Errorf("JWTBearerGrants = %d after only rejections", n)
	}
}

func withParam(f url.Values, k, v string) url.Values {
	f.Set(k, v)
	return f
}

// TestJWTBearerAccepts covers the accepting side of items 24, 26, 27, 30
// and 31.
func TestJWTBearerAccepts(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now})
	now := clock.Now().Unix()
	jag := func(edit map[string]any) string {
		c := tb.IdP.IDJAGClaims()
		applyExtra(c, edit)
		tok, err := tb.IdP.SignJWT(typIDJAG, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name      string
		form      url.Values
		wantScope string
	}{
		{"aud one-element array", bearerForm(jag(map[string]any{"aud": []string{tb.AS.Issuer()}})), "tools.read tools.call"},
		{"exp now+1", bearerForm(jag(map[string]any{"iat": now - 299, "exp": now + 1})), "tools.read tools.call"},
		{"exp within skew", bearerForm(jag(map[string]any{"iat": now - 359, "exp": now - 59})), "tools.read tools.call"},
		{"nbf within skew", bearerForm(jag(map[string]any{"nbf": now + 30})), "tools.read tools.call"},
		{"resource absent is pinned", bearerForm(jag(map[string]any{"resource": nil})), "tools.read tools.call"},
		{"resource one-element array", bearerForm(jag(map[string]any{"resource": []string{tb.MCP.URL()}})), "tools.read tools.call"},
		{"resource param equal", withParam(bearerForm(jag(nil)), "resource", tb.MCP.URL()), "tools.read tools.call"},
		{"scope param narrows", withParam(bearerForm(jag(nil)), "scope", "tools.call"), "tools.call"},
		{"scope param broader is intersected", withParam(bearerForm(jag(map[string]any{"scope": "tools.read"})), "scope", "tools.read tools.call"), "tools.read"},
		{"unregistered ID-JAG scope dropped", bearerForm(jag(map[string]any{"scope": "tools.read admin"})), "tools.read"},
		{"no scope anywhere", bearerForm(jag(map[string]any{"scope": nil})), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postForm(t, tb, tb.AS.TokenEndpoint(), tc.form, asBasic(tb))
			if r.status != 200 || r.str("token_type") != "Bearer" || r.str("scope") != tc.wantScope {
				t.Fatalf("got %d %v, want scope %q", r.status, r.body, tc.wantScope)
			}
			if _, c := decodeJWT(t, r.str("access_token")); c["aud"] != tb.MCP.URL() {
				t.Errorf("access token aud = %v", c["aud"])
			}
		})
	}
}

// TestJWTBearerReplay: item 28, and the jti stays used until exp.
func TestJWTBearerReplay(t *testing.T) {
	clock := newFakeClock()
	tb := start(t, Options{Now: clock.Now})
	jag := exchange(t, tb)
	if r := postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag), asBasic(tb)); r.status != 200 {
		t.Fatalf("first use: %d %v", r.status, r.body)
	}
	wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag), asBasic(tb)), 400, "invalid_grant")
	clock.Advance(200 * time.Second)
	wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag), asBasic(tb)), 400, "invalid_grant")
	// A rejected assertion does not burn its jti: the same ID-JAG works
	// once the request is right.
	jag2 := exchange(t, tb)
	wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), withParam(bearerForm(jag2), "resource", "https://x.example"), asBasic(tb)), 400, "invalid_target")
	if r := postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(jag2), asBasic(tb)); r.status != 200 {
		t.Fatalf("after rejected attempt: %d %v", r.status, r.body)
	}
}

// TestIDJAGTweaksRejectedByAS: a misbehaving IdP's ID-JAGs fail at our own
// AS, so the tweaks are exactly what a client must detect first.
func TestIDJAGTweaksRejectedByAS(t *testing.T) {
	tb := start(t, Options{})
	for _, tw := range []IdPTweaks{
		{IDJAGTyp: "JWT"},
		{OmitIDJAGTyp: true},
		{IDJAGAudience: "https://other-as.example"},
		{IDJAGResource: "https://other-mcp.example/mcp"},
		{IDJAGClientID: "idp-client"},
	} {
		tb.IdP.SetTweaks(tw)
		wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb)), 400, "invalid_grant")
	}
	tb.IdP.SetTweaks(IdPTweaks{IDJAGLifetime: 10 * time.Second, Minimal: true, IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token"})
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})), idpBasic(tb))
	if _, c := decodeJWT(t, r.str("access_token")); c["exp"].(float64)-c["iat"].(float64) != 10 {
		t.Errorf("short lifetime: %v", c)
	}
	if _, ok := r.body["expires_in"]; ok || r.str("issued_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
		t.Errorf("minimal response = %v", r.body)
	}
}
