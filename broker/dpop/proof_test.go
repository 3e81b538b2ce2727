package dpop_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/internal/clock"
)

// parseProof verifies a proof with the key embedded in it, as a server
// does, and returns its header members and claims.
func parseProof(t *testing.T, proof string) (header map[string]any, claims map[string]any) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.PS256, jose.RS256})
	if err != nil {
		t.Fatalf("parse proof: %v", err)
	}
	h := jws.Signatures[0].Protected
	if h.JSONWebKey == nil {
		t.Fatal("proof has no jwk header")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("proof does not verify with its own jwk: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(proof, ".")[0])
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return header, claims
}

func TestProofShape(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_790_000_000, 0))
	for _, alg := range dpop.Supported() {
		t.Run(string(alg), func(t *testing.T) {
			k := keyFor(t, alg)
			proof, err := k.Proof(fake, dpop.Request{
				Method: "POST", URL: "https://MCP.Example:443/mcp?session=1#frag",
				AccessToken: "at-123", Nonce: "n-1_x",
			})
			if err != nil {
				t.Fatal(err)
			}
			h, c := parseProof(t, proof)
			if h["typ"] != "dpop+jwt" || h["alg"] != string(alg) {
				t.Errorf("header = %v", h)
			}
			if _, ok := h["kid"]; ok {
				t.Error("header names a kid next to the jwk")
			}
			// RFC 9449 §4.2: the jwk is the public key, nothing else.
			jwk, _ := h["jwk"].(map[string]any)
			var members []string
			for m := range jwk {
				members = append(members, m)
			}
			slices.Sort(members)
			want := []string{"crv", "kty", "x", "y"}
			if alg == dpop.PS256 || alg == dpop.RS256 {
				want = []string{"e", "kty", "n"}
			}
			if !slices.Equal(members, want) {
				t.Errorf("jwk members = %v, want %v", members, want)
			}
			wantClaims := map[string]any{
				"htm": "POST", "htu": "https://mcp.example/mcp", "iat": float64(1_790_000_000),
				"ath": dpop.AccessTokenHash("at-123"), "nonce": "n-1_x",
			}
			for name, v := range wantClaims {
				if c[name] != v {
					t.Errorf("%s = %v, want %v", name, c[name], v)
				}
			}
			if jti, _ := c["jti"].(string); len(jti) < 16 {
				t.Errorf("jti %q is too short to be unique", jti)
			}
			if len(c) != 6 {
				t.Errorf("claims = %v, want exactly jti htm htu iat ath nonce", c)
			}
		})
	}
}

// TestProofTokenEndpoint: no access token means no ath; no nonce means no
// nonce claim; iat follows the clock.
func TestProofTokenEndpoint(t *testing.T) {
	fake := clock.NewFake(time.Unix(1_790_000_000, 0))
	k := keyFor(t, dpop.ES256)
	proof, err := k.Proof(fake, dpop.Request{Method: "POST", URL: "http://127.0.0.1:8080/token"})
	if err != nil {
		t.Fatal(err)
	}
	_, c := parseProof(t, proof)
	if _, ok := c["ath"]; ok {
		t.Error("token endpoint proof has ath")
	}
	if _, ok := c["nonce"]; ok {
		t.Error("proof without a nonce has a nonce claim")
	}
	if c["htu"] != "http://127.0.0.1:8080/token" {
		t.Errorf("htu = %v", c["htu"])
	}
	fake.Advance(90 * time.Second)
	later, _ := k.Proof(fake, dpop.Request{Method: "POST", URL: "http://127.0.0.1:8080/token"})
	if _, c2 := parseProof(t, later); c2["iat"] != float64(1_790_000_090) {
		t.Errorf("iat after Advance = %v", c2["iat"])
	}
}

func TestProofJTIUnique(t *testing.T) {
	k := keyFor(t, dpop.ES256)
	seen := map[string]bool{}
	for range 200 {
		p, err := k.Proof(nil, dpop.Request{Method: "GET", URL: "https://rs.example/"})
		if err != nil {
			t.Fatal(err)
		}
		_, c := parseProof(t, p)
		jti := c["jti"].(string)
		if seen[jti] {
			t.Fatalf("jti %q repeated", jti)
		}
		seen[jti] = true
	}
}

func TestProofRejectsBadInput(t *testing.T) {
	k := keyFor(t, dpop.ES256)
	for _, r := range []dpop.Request{
		{Method: "", URL: "https://rs.example/"},
		{Method: "GE T", URL: "https://rs.example/"},
		{Method: "GET", URL: "ftp://rs.example/"},
		{Method: "GET", URL: "/relative"},
		{Method: "GET", URL: "https://user:pw@rs.example/"},
		{Method: "GET", URL: "https://rs.example/", Nonce: `has"quote`},
		{Method: "GET", URL: "https://rs.example/", Nonce: "has space"},
	} {
		if p, err := k.Proof(nil, r); err == nil {
			t.Errorf("Proof(%+v) = %q, want an error", r, p)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error quotes userinfo: %v", err)
		}
	}
}

func TestHTU(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://server.example.com/token", "https://server.example.com/token"},
		{"HTTPS://Server.Example.COM:443/token?x=1#f", "https://server.example.com/token"},
		{"http://127.0.0.1:80", "http://127.0.0.1/"},
		{"http://127.0.0.1:8443/mcp/", "http://127.0.0.1:8443/mcp/"},
		{"https://[::1]:443/a", "https://[::1]/a"},
		{"https://[::1]:8443/a", "https://[::1]:8443/a"},
		{"https://rs.example/a%2Fb", "https://rs.example/a%2Fb"},
		{"https://rs.example?q", "https://rs.example/"},
	}
	for _, tc := range tests {
		if got, err := dpop.HTU(tc.in); err != nil || got != tc.want {
			t.Errorf("HTU(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if o, err := dpop.Origin("HTTP://A.example:80/x?y"); err != nil || o != "http://a.example" {
		t.Errorf("Origin = %q, %v", o, err)
	}
}

func TestAccessTokenHash(t *testing.T) {
	// RFC 9449 §7.1 example: the access token and the ath of its proof.
	const at = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	if got := dpop.AccessTokenHash(at); got != "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" {
		t.Errorf("ath = %q", got)
	}
}
