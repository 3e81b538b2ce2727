package dpop_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// keys caches one generated key per algorithm: RSA generation is slow
// under -race, and the tests only read the keys.
var keys = struct {
	sync.Mutex
	m map[dpop.Algorithm]*dpop.Key
}{m: map[dpop.Algorithm]*dpop.Key{}}

func keyFor(t testing.TB, alg dpop.Algorithm) *dpop.Key {
	t.Helper()
	keys.Lock()
	defer keys.Unlock()
	if k, ok := keys.m[alg]; ok {
		return k
	}
	k, err := dpop.GenerateKey(alg)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	keys.m[alg] = k
	return k
}

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint. The
// optional members (alg, kid) must not change it.
const (
	rfc7638JWK = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	rfc7638JKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	// RFC 9449 §4.1 example proof key and the jkt §6.1 shows for it.
	rfc9449JWK = `{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}`
	rfc9449JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
)

func TestThumbprintVectors(t *testing.T) {
	for _, tc := range []struct{ name, jwk, want string }{
		{"RFC 7638 §3.1", rfc7638JWK, rfc7638JKT},
		{"RFC 9449 §6.1", rfc9449JWK, rfc9449JKT},
	} {
		got, err := dpop.Thumbprint([]byte(tc.jwk))
		if err != nil || got != tc.want {
			t.Errorf("%s: Thumbprint = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// A private key is not something to take a thumbprint of by accident.
	priv, _ := keyFor(t, dpop.ES256).MarshalPrivate()
	if _, err := dpop.Thumbprint(priv); err == nil {
		t.Error("Thumbprint of a private JWK succeeded")
	}
}

// TestKeyRoundTrip: a marshalled key parses back to the same key, for
// every algorithm, and keeps its thumbprint and public JWK.
func TestKeyRoundTrip(t *testing.T) {
	for _, alg := range dpop.Supported() {
		t.Run(string(alg), func(t *testing.T) {
			k := keyFor(t, alg)
			b, err := k.MarshalPrivate()
			if err != nil {
				t.Fatal(err)
			}
			back, err := dpop.ParsePrivate(b)
			if err != nil {
				t.Fatalf("ParsePrivate: %v", err)
			}
			if back.Algorithm() != alg || back.Thumbprint() != k.Thumbprint() || !bytes.Equal(back.PublicJWK(), k.PublicJWK()) {
				t.Fatalf("round trip changed the key: %v -> %v", k, back)
			}
			jkt, err := dpop.Thumbprint(k.PublicJWK())
			if err != nil || jkt != k.Thumbprint() {
				t.Errorf("Thumbprint(PublicJWK) = %q, %v; Key.Thumbprint = %q", jkt, err, k.Thumbprint())
			}
			// The parsed key signs proofs the original's public key verifies.
			proof, err := back.Proof(nil, dpop.Request{Method: "GET", URL: "https://rs.example/x"})
			if err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(proof, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var pub jose.JSONWebKey
			if err := pub.UnmarshalJSON(k.PublicJWK()); err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(pub); err != nil {
				t.Errorf("proof of the parsed key does not verify with the original public key: %v", err)
			}
		})
	}
}

func TestGenerateKeyRefusesUnknownAlgorithms(t *testing.T) {
	for _, alg := range []dpop.Algorithm{"", "none", "HS256", "EdDSA", "es256"} {
		if _, err := dpop.GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", alg)
		}
	}
	a, b := keyFor(t, dpop.ES256), mustGenerate(t, dpop.ES256)
	if a.Thumbprint() == b.Thumbprint() {
		t.Error("two generated keys share a thumbprint")
	}
}

func mustGenerate(t *testing.T, alg dpop.Algorithm) *dpop.Key {
	t.Helper()
	k, err := dpop.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParsePrivateRejects(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	jwk := func(key any, alg string) string {
		b, err := (&jose.JSONWebKey{Key: key, Algorithm: alg}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := jwk(ec, "ES256")
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"garbage", "not a key"},
		{"JSON array", "[]"},
		{"public key", jwk(ec.Public(), "ES256")},
		{"no alg", jwk(ec, "")},
		{"alg none", jwk(ec, "none")},
		{"P-256 key for ES384", jwk(ec, "ES384")},
		{"EC key for RS256", jwk(ec, "RS256")},
		{"symmetric key", jwk([]byte("0123456789abcdef0123456789abcdef"), "HS256")},
		{"RSA 1024", jwk(small, "RS256")},
		{"use enc", strings.Replace(good, `"kty"`, `"use":"enc","kty"`, 1)},
		{"oversized", `{"kty":"EC","pad":"` + strings.Repeat("x", 20<<10) + `"}`},
	}
	d := func(s string) string {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil {
			if v, ok := m["d"].(string); ok {
				return v
			}
		}
		return "\x00never"
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := dpop.ParsePrivate([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParsePrivate accepted it: %v", k)
			}
			if strings.Contains(err.Error(), d(tc.in)) {
				t.Errorf("error quotes the private key: %v", err)
			}
		})
	}
	if _, err := dpop.ParsePrivate([]byte(good)); err != nil {
		t.Errorf("a valid ES256 JWK was refused: %v", err)
	}
}

// TestKeyNeverPrints: every way a Key can reach a log shows the
// thumbprint, never the private scalar.
func TestKeyNeverPrints(t *testing.T) {
	for _, alg := range []dpop.Algorithm{dpop.ES256, dpop.RS256} {
		k := keyFor(t, alg)
		priv, _ := k.MarshalPrivate()
		var m map[string]string
		if err := json.Unmarshal(priv, &m); err != nil || m["d"] == "" {
			t.Fatalf("MarshalPrivate has no d: %v", err)
		}
		secrets := []string{m["d"], m["p"], m["q"]}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k, "value", *k)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "key", k)
		outs := []string{logged.String()}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k), fmt.Sprintf(verb, struct{ K *dpop.Key }{k}))
		}
		for _, out := range outs {
			for _, s := range secrets {
				if s != "" && strings.Contains(out, s) {
					t.Fatalf("%s key printed its private part: %s", alg, out)
				}
			}
		}
		if !strings.Contains(logged.String(), k.Thumbprint()) || !strings.Contains(fmt.Sprint(k), k.Thumbprint()) {
			t.Errorf("thumbprint missing from %q / %q", logged.String(), fmt.Sprint(k))
		}
		if b, err := json.Marshal(struct{ K *dpop.Key }{k}); err == nil {
			t.Errorf("json.Marshal of a Key succeeded: %s", b)
		}
	}
}

func TestChooseAlgorithm(t *testing.T) {
	tests := []struct {
		name  string
		lists [][]string
		want  dpop.Algorithm
	}{
		{"nothing advertised", nil, dpop.ES256},
		{"absent lists mean ES256", [][]string{nil, nil}, dpop.ES256},
		{"preference beats server order", [][]string{{"RS256", "PS256", "ES384", "ES256"}}, dpop.ES256},
		{"intersection", [][]string{{"ES384", "PS256", "RS256"}, {"RS256", "PS256"}}, dpop.PS256},
		{"RSA only", [][]string{{"RS256"}}, dpop.RS256},
		{"unknown names ignored", [][]string{{"EdDSA", "ES512", "ES384"}}, dpop.ES384},
		{"absent list with ES256 server", [][]string{nil, {"ES256", "RS256"}}, dpop.ES256},
	}
	for _, tc := range tests {
		got, err := dpop.ChooseAlgorithm(tc.lists...)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, lists := range [][][]string{
		{{"ES384"}, {"RS256"}},
		{nil, {"PS256"}}, // the absent list stands for ES256
		{{}},             // an empty list accepts nothing
		{{"es256"}},      // alg values are case-sensitive
		{{"HS256", "none"}},
	} {
		if got, err := dpop.ChooseAlgorithm(lists...); !errors.Is(err, dpop.ErrNoCommonAlgorithm) {
			t.Errorf("ChooseAlgorithm(%q) = %q, %v; want ErrNoCommonAlgorithm", lists, got, err)
		}
	}
}
