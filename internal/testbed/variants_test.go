package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestDiscoveryVariants: each variant serves its documents exactly where
// docs/protocol.md §2 step 3 says a client looks, and the whole flow still works.
func TestDiscoveryVariants(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		issuerPath string   // path part of the issuer
		metaPaths  []string // where AS metadata must be found
		notAt      []string // where it must not be
		prmPaths   []string
	}{
		{"default", Options{}, "", []string{"/.well-known/oauth-authorization-server"}, []string{"/.well-known/openid-configuration"}, []string{"/.well-known/oauth-protected-resource/mcp"}},
		{"path issuer", Options{ASIssuerPath: "/tenant1"}, "/tenant1",
			[]string{"/.well-known/oauth-authorization-server/tenant1"},
			[]string{"/.well-known/oauth-authorization-server", "/tenant1/.well-known/oauth-authorization-server"}, nil},
		{"OIDC only with path", Options{ASIssuerPath: "/tenant1", ASMetadata: MetadataOIDC}, "/tenant1",
			[]string{"/.well-known/openid-configuration/tenant1", "/tenant1/.well-known/openid-configuration"},
			[]string{"/.well-known/oauth-authorization-server/tenant1"}, nil},
		{"OIDC only", Options{ASMetadata: MetadataOIDC}, "", []string{"/.well-known/openid-configuration"}, []string{"/.well-known/oauth-authorization-server"}, nil},
		{"trailing slash", Options{ASIssuerTrailingSlash: true}, "/", []string{"/.well-known/oauth-authorization-server"}, nil, nil},
		{"path and trailing slash", Options{ASIssuerPath: "/t", ASIssuerTrailingSlash: true}, "/t/", []string{"/.well-known/oauth-authorization-server/t"}, nil, nil},
		{"PRM root only", Options{PRM: PRMRoot, ChallengeWithoutResourceMetadata: true}, "", nil, nil, []string{"/.well-known/oauth-protected-resource"}},
		{"PRM both", Options{PRM: PRMBoth}, "", nil, nil, []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := start(t, tc.opts)
			base := strings.TrimSuffix(tb.AS.TokenEndpoint(), tc.opts.ASIssuerPath+"/token")
			if got := tb.AS.Issuer(); got != base+tc.issuerPath {
				t.Errorf("issuer = %q, want %q", got, base+tc.issuerPath)
			}
			for _, p := range tc.metaPaths {
				if r := get(t, tb, base+p); r.status != 200 || r.str("issuer") != tb.AS.Issuer() {
					t.Errorf("metadata at %s: %d %v", p, r.status, r.body)
				}
			}
			for _, p := range tc.notAt {
				if r := get(t, tb, base+p); r.status != 404 {
					t.Errorf("metadata unexpectedly at %s: %d", p, r.status)
				}
			}
			mcpBase := strings.TrimSuffix(tb.MCP.URL(), "/mcp")
			for _, p := range tc.prmPaths {
				if r := get(t, tb, mcpBase+p); r.status != 200 || r.str("resource") != tb.MCP.URL() {
					t.Errorf("PRM at %s: %d %v", p, r.status, r.body)
				}
			}
			ch := get(t, tb, tb.MCP.URL()).header.Get("WWW-Authenticate")
			if strings.Contains(ch, "resource_metadata") == tc.opts.ChallengeWithoutResourceMetadata {
				t.Errorf("challenge = %q", ch)
			}
			if r := mcpPost(t, tb, tb.MCP.URL(), accessToken(t, tb)); r.status != 200 {
				t.Errorf("MCP call: %d", r.status)
			}
		})
	}
}

func assertion(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	tok, err := sign(jose.JSONWebKey{Key: key, Algorithm: string(alg)}, "", claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestClientAuthMethods runs the exchange with each method the IdP can
// demand, and private_key_jwt's RFC 7523 §3 checks.
func TestClientAuthMethods(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	const weird = "id:with/+ & é"
	tests := []struct {
		name   string
		client Client
		auth   func(tb *Testbed, f url.Values) func(*http.Request)
	}{
		{"basic with form-encoded specials", Client{ID: weird, Secret: "s:e/c+r%t é", Auth: AuthClientSecretBasic},
			func(tb *Testbed, f url.Values) func(*http.Request) { return basicAuth(weird, "s:e/c+r%t é") }},
		{"post", Client{ID: "c1", Secret: "s1", Auth: AuthClientSecretPost},
			func(tb *Testbed, f url.Values) func(*http.Request) {
				f.Set("client_id", "c1")
				f.Set("client_secret", "s1")
				return nil
			}},
		{"none", Client{ID: "public", Auth: AuthNone},
			func(tb *Testbed, f url.Values) func(*http.Request) { f.Set("client_id", "public"); return nil }},
		{"private_key_jwt ES256", Client{ID: "pk", Auth: AuthPrivateKeyJWT, PublicKey: &ecKey.PublicKey},
			func(tb *Testbed, f url.Values) func(*http.Request) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.IdP.Issuer(), nil)
				return nil
			}},
		{"private_key_jwt RS256 aud token endpoint", Client{ID: "pk", Auth: AuthPrivateKeyJWT, PublicKey: &rsaKey.PublicKey},
			func(tb *Testbed, f url.Values) func(*http.Request) {
				setAssertion(t, tb, f, rsaKey, jose.RS256, tb.IdP.TokenEndpoint(), nil)
				return nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := start(t, Options{IdPClient: tc.client})
			f := exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{}))
			r := postForm(t, tb, tb.IdP.TokenEndpoint(), f, tc.auth(tb, f))
			if r.status != 200 {
				t.Fatalf("exchange: %d %v", r.status, r.body)
			}
			if rec, _ := tb.LastRequest(EndpointIdPToken); rec.ClientID != tc.client.ID || rec.ClientAuth != tc.client.Auth {
				t.Errorf("record client = %q %q", rec.ClientID, rec.ClientAuth)
			}
		})
	}

	t.Run("private_key_jwt rejections", func(t *testing.T) {
		tb := start(t, Options{ASClient: Client{ID: "pk", Auth: AuthPrivateKeyJWT, PublicKey: &ecKey.PublicKey}})
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		now := tb.Now()
		bad := map[string]func(f url.Values){
			"wrong key": func(f url.Values) { setAssertion(t, tb, f, other, jose.ES256, tb.AS.Issuer(), nil) },
			"aud IdP":   func(f url.Values) { setAssertion(t, tb, f, ecKey, jose.ES256, tb.IdP.Issuer(), nil) },
			"expired": func(f url.Values) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), map[string]any{"exp": now.Add(-time.Hour).Unix()})
			},
			"no jti": func(f url.Values) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), map[string]any{"jti": nil})
			},
			"sub differs": func(f url.Values) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), map[string]any{"sub": "x"})
			},
			"wrong type": func(f url.Values) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), nil)
				f.Set("client_assertion_type", "jwt")
			},
			"secret instead": func(f url.Values) { f.Set("client_id", "pk"); f.Set("client_secret", "x") },
			"client_id differs": func(f url.Values) {
				setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), nil)
				f.Set("client_id", "other")
			},
		}
		for name, mutate := range bad {
			t.Run(name, func(t *testing.T) {
				f := bearerForm(exchange(t, tb))
				mutate(f)
				wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), f, nil), 401, "invalid_client")
			})
		}
		// Replay of a client assertion (RFC 7523 §3 item 7).
		f := bearerForm(exchange(t, tb))
		setAssertion(t, tb, f, ecKey, jose.ES256, tb.AS.Issuer(), nil)
		if r := postForm(t, tb, tb.AS.TokenEndpoint(), f, nil); r.status != 200 {
			t.Fatalf("first: %d %v", r.status, r.body)
		}
		f.Set("assertion", exchange(t, tb))
		wantOAuthError(t, postForm(t, tb, tb.AS.TokenEndpoint(), f, nil), 401, "invalid_client")
	})
}

// setAssertion adds a private_key_jwt client assertion for the form's
// client ("pk" unless the IdP client is being tested).
func setAssertion(t *testing.T, tb *Testbed, f url.Values, key crypto.Signer, alg jose.SignatureAlgorithm, aud string, edit map[string]any) {
	t.Helper()
	id := "pk"
	now := tb.Now()
	c := map[string]any{"iss": id, "sub": id, "aud": aud, "jti": randomID(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	applyExtra(c, edit)
	f.Set("client_assertion_type", clientAssertionType)
	f.Set("client_assertion", assertion(t, key, alg, c))
}

func TestStartValidates(t *testing.T) {
	for _, o := range []Options{
		{IdPClient: Client{ID: "same"}, ASClient: Client{ID: "same"}},
		{ASIssuerPath: "tenant"},
		{ASIssuerPath: "/tenant/"},
		{ASClient: Client{ID: "x", Auth: AuthPrivateKeyJWT}},
	} {
		if tb, err := Start(o); err == nil {
			tb.Close()
			t.Errorf("Start(%+v) succeeded", o)
		}
	}
}
