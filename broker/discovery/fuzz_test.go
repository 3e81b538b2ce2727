package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

const (
	fuzzServer = "https://mcp.example/mcp"
	fuzzIssuer = "https://as.example/tenant"
)

// canned answers the MCP server URL with a 401 carrying challenge, and
// every other URL (metadata, wherever a hint points) with body.
type canned struct {
	challenge string
	body      []byte
}

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	status := http.StatusOK
	var body []byte
	if r.URL.String() == fuzzServer {
		status = http.StatusUnauthorized
		if c.challenge != "" {
			h["Www-Authenticate"] = strings.Split(c.challenge, "\n")
		}
	} else {
		h.Set("Content-Type", "application/json")
		body = c.body
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// oneObject decodes data with encoding/json alone: it must hold exactly
// one JSON object, returned as its members.
func oneObject(t *testing.T, data []byte) map[string]json.RawMessage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("accepted a document that is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("accepted a document with data after its object")
	}
	return m
}

// noFoldVariants fails if m has a member that equals one of names only
// case-insensitively: encoding/json would have matched it.
func noFoldVariants(t *testing.T, m map[string]json.RawMessage, names ...string) {
	t.Helper()
	for k := range m {
		for _, n := range names {
			if k != n && strings.EqualFold(k, n) {
				t.Fatalf("accepted member %q as %q", k, n)
			}
		}
	}
}

func exactString(t *testing.T, m map[string]json.RawMessage, name, want string) {
	t.Helper()
	var got string
	if err := json.Unmarshal(m[name], &got); err != nil || got != want {
		t.Fatalf("accepted %s %s, asked for %q", name, m[name], want)
	}
}

// FuzzProtectedResource checks PRM discovery as the broker runs it, with a
// hostile 401 challenge and document: an accepted document is exactly one
// JSON object whose resource is, byte for byte, the server asked about,
// whose authorization servers and metadata URL pass CheckURL, and whose
// scopes, like the challenge's, are RFC 6749 scope-tokens.
func FuzzProtectedResource(f *testing.F) {
	f.Add(`Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="a b"`,
		[]byte(`{"resource":"https://mcp.example/mcp","authorization_servers":["https://as.example/tenant"],"scopes_supported":["a","b"]}`))
	f.Add(`DPoP algs="ES256", resource_metadata="https://elsewhere.example/prm"`,
		[]byte(`{"resource":"https://mcp.example/mcp","authorization_servers":["http://127.0.0.1:8080"]}`))
	f.Add("", []byte(`{"RESOURCE":"https://mcp.example/mcp","authorization_servers":["https://as"]}`))
	f.Add("", []byte(`{"resource":"https://mcp.example/mcp","authorization_servers":["https://as"]}{"resource":"x"}`))
	f.Fuzz(func(t *testing.T, challenge string, body []byte) {
		c := &Client{HTTP: &http.Client{Transport: canned{challenge: challenge, body: body}}}
		r, err := c.ProtectedResource(context.Background(), fuzzServer)
		if err != nil {
			return
		}
		m := oneObject(t, body)
		noFoldVariants(t, m, "resource", "authorization_servers", "scopes_supported")
		exactString(t, m, "resource", fuzzServer)
		if r.Resource != fuzzServer || r.ServerURL != fuzzServer || len(r.AuthorizationServers) == 0 {
			t.Fatalf("accepted %+v", r)
		}
		for _, u := range append([]string{r.MetadataURL}, r.AuthorizationServers...) {
			if _, err := httpx.CheckURL(u); err != nil {
				t.Fatalf("accepted URL %q: %v", u, err)
			}
		}
		if !httpx.ValidScopes(r.ScopesSupported) || !httpx.ValidScopes(r.ChallengeScopes) {
			t.Fatalf("accepted scopes %q / %q", r.ScopesSupported, r.ChallengeScopes)
		}
	})
}

// FuzzAuthServer checks AS and IdP metadata validation: an accepted
// document is exactly one JSON object whose issuer is, byte for byte, the
// issuer asked for, with a token endpoint and every other endpoint passing
// CheckURL, and (for an MCP authorization server) the jwt-bearer grant.
func FuzzAuthServer(f *testing.F) {
	f.Add(false, []byte(`{"issuer":"https://as.example/tenant","token_endpoint":"https://as.example/tenant/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"],"jwks_uri":"https://as.example/jwks"}`))
	f.Add(true, []byte(`{"issuer":"https://as.example/tenant","token_endpoint":"http://localhost:9/token","authorization_endpoint":"https://as.example/auth","device_authorization_endpoint":"https://as.example/device"}`))
	f.Add(false, []byte(`{"Issuer":"https://as.example/tenant","issuer":"https://evil.example","token_endpoint":"https://as.example/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"]}`))
	f.Add(true, []byte(`{"issuer":"https://as.example/tenant","token_endpoint":"http://localhost./token"}`))
	f.Fuzz(func(t *testing.T, idp bool, body []byte) {
		c := &Client{HTTP: &http.Client{Transport: canned{body: body}}}
		var as *AuthServer
		var err error
		if idp {
			as, err = c.IdP(context.Background(), fuzzIssuer)
		} else {
			as, err = c.AuthServer(context.Background(), fuzzIssuer)
		}
		if err != nil {
			return
		}
		m := oneObject(t, body)
		noFoldVariants(t, m, "issuer", "token_endpoint", "jwks_uri", "revocation_endpoint", "grant_types_supported",
			"authorization_endpoint", "device_authorization_endpoint", "token_endpoint_auth_methods_supported")
		exactString(t, m, "issuer", fuzzIssuer)
		if as.Issuer != fuzzIssuer {
			t.Fatalf("accepted issuer %q", as.Issuer)
		}
		urls, _ := ASMetadataURLs(fuzzIssuer)
		if !slices.Contains(urls, as.MetadataURL) {
			t.Fatalf("metadata found at %q, not a URL of the issuer", as.MetadataURL)
		}
		if _, err := httpx.CheckURL(as.TokenEndpoint); err != nil {
			t.Fatalf("accepted token endpoint %q: %v", as.TokenEndpoint, err)
		}
		for _, u := range []string{as.JWKSURI, as.RevocationEndpoint, as.AuthorizationEndpoint, as.DeviceAuthorizationEndpoint} {
			if _, err := httpx.CheckURL(u); u != "" && err != nil {
				t.Fatalf("accepted endpoint %q: %v", u, err)
			}
		}
		if !idp && !slices.Contains(as.GrantTypes, GrantJWTBearer) {
			t.Fatalf("accepted an AS without jwt-bearer: %q", as.GrantTypes)
		}
	})
}

// FuzzChallengeHints checks the 401 hints as discovery reads them: a
// resource_metadata it returns passes CheckURL, scopes are RFC 6749
// scope-tokens, and a well-formed Bearer or DPoP challenge built from the
// fuzzed values gives exactly those values back.
func FuzzChallengeHints(f *testing.F) {
	f.Add("Bearer", "https://mcp.example/.well-known/oauth-protected-resource", "a b", `Basic realm="x"`)
	f.Add("DPoP", "http://127.0.0.1:9/prm", "files:read", `DPoP algs="ES256"`)
	f.Add("bearer", "https://x/\"quoted\"\\", "a\tb", "Bearer realm=\"a\\\\\", Bearer resource_metadata=\"https://y/\"")
	f.Fuzz(func(t *testing.T, scheme, rm, scope, other string) {
		lines := strings.Split(other, "\n")
		gotURL, gotScopes := challengeHints(lines)
		if gotURL != "" {
			if _, err := httpx.CheckURL(gotURL); err != nil {
				t.Fatalf("hint %q: %v", gotURL, err)
			}
		}
		if gotScopes != nil && (len(gotScopes) == 0 || !httpx.ValidScopes(gotScopes)) {
			t.Fatalf("scopes %q", gotScopes)
		}
		if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "dpop") {
			return
		}
		if !plain(rm) || !plain(scope) {
			return // strconv.Quote would write escapes a quoted-string lacks
		}
		header := scheme + " resource_metadata=" + strconv.Quote(rm) + ", scope=" + strconv.Quote(scope)
		u, s := challengeHints([]string{header})
		want := ""
		if _, err := httpx.CheckURL(rm); err == nil {
			want = rm
		}
		if u != want {
			t.Fatalf("%q: hint %q, want %q", header, u, want)
		}
		if wantScopes, ok := httpx.SplitScope(scope); ok && len(wantScopes) > 0 && !slices.Equal(s, wantScopes) {
			t.Fatalf("%q: scopes %q, want %q", header, s, wantScopes)
		} else if (!ok || len(wantScopes) == 0) && s != nil {
			t.Fatalf("%q: scopes %q from an invalid scope", header, s)
		}
	})
}

// plain reports a value strconv.Quote writes as a valid quoted-string:
// ASCII without escapes other than \" and \\.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
