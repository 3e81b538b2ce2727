package grant_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// answer is a token endpoint that answers every request with status and
// body, so a fuzz target drives the package's real request path.
type answer struct {
	status int
	body   []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), Request: r}, nil
}

func fuzzEndpoint(status int, body []byte) *grant.Endpoint {
	return &grant.Endpoint{
		URL: "https://as.example/token", Auth: grant.ClientAuth{ClientID: "c", Secret: "s"},
		HTTP: &http.Client{Transport: answer{status: status, body: body}},
		Now:  func() time.Time { return testT0 },
	}
}

// members decodes body with encoding/json alone, which must find exactly
// one JSON object.
func members(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("accepted a body that is not one JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatal("accepted a body with data after its JSON object")
	}
	for k := range m {
		for _, n := range []string{"access_token", "token_type", "expires_in", "scope", "refresh_token", "issued_token_type", "id_token"} {
			if k != n && strings.EqualFold(k, n) {
				t.Fatalf("accepted member %q for %q", k, n)
			}
		}
	}
	return m
}

func stringMember(t *testing.T, m map[string]json.RawMessage, name string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m[name], &s); err != nil || len(m[name]) == 0 || m[name][0] != '"' {
		t.Fatalf("accepted %s = %s, want a JSON string", name, m[name])
	}
	return s
}

// safeText reports text an error may carry: valid UTF-8, no control
// characters, at most limit bytes.
func safeText(s string, limit int) bool {
	return utf8.ValidString(s) && len(s) <= limit && strings.IndexFunc(s, unicode.IsControl) < 0
}

// FuzzTokenResponse drives the jwt-bearer grant and the refresh grant with
// any status and body. Accepted: exactly one JSON object with the
// required members, of the right types and RFC 6749 syntax. Refused with
// an OAuth error: its texts are valid UTF-8, clipped, without control
// characters. Every error text is valid UTF-8.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"a b"}`))
	f.Add(200, []byte(`{"access_token":"at","token_type":"bearer","expires_in":"60","refresh_token":"rt","id_token":"x.y.z"}`))
	f.Add(200, []byte(`{"access_token":"at","token_type":"Bearer"}{"access_token":"evil"}`))
	f.Add(200, []byte(`{"ACCESS_TOKEN":"at","token_type":"Bearer"}`))
	f.Add(200, []byte(`{"error":"invalid_grant","error_description":"`+strings.Repeat("a", 199)+`€"}`))
	f.Add(400, []byte(`{"error":"insufficient_user_authentication","max_age":1e300,"acr_values":"\u001b[2J"}`))
	f.Add(401, []byte("{\"error\":\"invalid_client\",\"error_description\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		at, err := grant.JWTBearer(context.Background(), fuzzEndpoint(status, body), grant.BearerRequest{Assertion: "jag"})
		checkError(t, err)
		if err == nil {
			m := members(t, body)
			if tok := stringMember(t, m, "access_token"); tok == "" || tok != at.Token || !printable(tok) {
				t.Fatalf("accepted access_token %q as %q", tok, at.Token)
			}
			if typ := stringMember(t, m, "token_type"); !strings.EqualFold(typ, "Bearer") {
				t.Fatalf("accepted token_type %q", typ)
			}
			checkLifetime(t, m["expires_in"], at)
			checkScopes(t, m["scope"], at.Scopes)
		}
		toks, err := grant.Refresh(context.Background(), fuzzEndpoint(status, body), "rt")
		checkError(t, err)
		if err == nil {
			m := members(t, body)
			if rt, ok := m["refresh_token"]; ok && string(rt) != "null" && stringMember(t, m, "refresh_token") != toks.RefreshToken {
				t.Fatal("refresh token misread")
			}
			checkScopes(t, m["scope"], toks.Scopes)
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error text is not valid UTF-8: %q", err.Error())
	}
	var oe *grant.OAuthError
	if errors.As(err, &oe) {
		for _, s := range []string{oe.Code, oe.Description, oe.URI, oe.ACRValues, oe.MaxAge} {
			if !safeText(s, httpx.ClipLen) {
				t.Fatalf("OAuth error field %q is not safe text", s)
			}
		}
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func checkLifetime(t *testing.T, raw json.RawMessage, at *grant.AccessToken) {
	t.Helper()
	life := at.ExpiresAt.Sub(at.ReceivedAt)
	if len(raw) == 0 || string(raw) == "null" {
		if life != grant.DefaultLifetime {
			t.Fatalf("no expires_in, lifetime %s", life)
		}
		return
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("accepted expires_in %s", raw)
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || math.IsNaN(f) || life < grant.MinLifetime {
		t.Fatalf("accepted expires_in %s as a lifetime of %s", raw, life)
	}
}

func checkScopes(t *testing.T, raw json.RawMessage, got []string) {
	t.Helper()
	if !httpx.ValidScopes(got) {
		t.Fatalf("accepted scopes %q", got)
	}
	if len(raw) > 0 && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			t.Fatalf("accepted scope %s", raw)
		}
	}
}

// FuzzIDJAG drives the token exchange with ID-JAGs built from a fuzzed
// protected header, claims set and tail (the signature of a JWS, or the
// remaining three parts of a JWE), base64url-encoded as an IdP would.
// Accepted: a JWE whose protected header is a JSON object with alg and
// enc, or a JWS whose typ is the ID-JAG type and whose claims hold the
// requested aud and resource and an exp no more than the skew in the past.
func FuzzIDJAG(f *testing.F) {
	exp := jsonInt(testT0.Add(time.Minute).Unix())
	jws := `{"alg":"ES256","typ":"oauth-id-jag+jwt"}`
	good, _ := json.Marshal(goodClaims(testT0.Add(time.Minute)))
	f.Add(jws, string(good), "c2ln")
	f.Add(`{"alg":"ES256","typ":"application/OAUTH-ID-JAG+JWT"}`, `{"aud":["https://as.example"],"exp":`+exp+`.5}`, "c2ln")
	f.Add(jws, `{"aud":"https://as.example","exp":1}`, "c2ln")
	f.Add(jws, `{"aud":"https://as.example","AUD":"https://evil.example","exp":`+exp+`}`, "c2ln")
	f.Add(`{"alg":"ES256","typ":"JWT"}`, string(good), "c2ln")
	f.Add(`{"alg":"RSA-OAEP-256","enc":"A256GCM"}`, "key", "aXY.Y3Q.dGFn")
	f.Add(`{"alg":"dir"}`, "", "aXY.Y3Q.dGFn")
	f.Fuzz(func(t *testing.T, header, claims, tail string) {
		token := b64(header) + "." + b64(claims) + "." + tail
		jag, err := exchangeWithToken(token)
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error text is not valid UTF-8: %q", err.Error())
			}
			return
		}
		parts := strings.Split(token, ".")
		switch len(parts) {
		case 5:
			var h map[string]any
			if json.Unmarshal(decodeB64(t, parts[0]), &h) != nil {
				t.Fatalf("accepted a JWE whose header is not JSON: %q", header)
			}
			if a, _ := h["alg"].(string); a == "" {
				t.Fatalf("accepted a JWE without alg: %v", h)
			}
			if e, _ := h["enc"].(string); e == "" {
				t.Fatalf("accepted a JWE without enc: %v", h)
			}
		case 3:
			checkJWSClaims(t, parts, jag)
		default:
			t.Fatalf("accepted an ID-JAG of %d parts", len(parts))
		}
	})
}

func exchangeWithToken(token string) (*grant.IDJAG, error) {
	body, _ := json.Marshal(map[string]any{"access_token": token, "issued_token_type": grant.TokenTypeIDJAG, "token_type": "N_A", "expires_in": 300})
	return grant.Exchange(context.Background(), fuzzEndpoint(200, body), grant.ExchangeRequest{SubjectToken: "id", Audience: testAS, Resource: testResource})
}

func checkJWSClaims(t *testing.T, parts []string, jag *grant.IDJAG) {
	t.Helper()
	var h map[string]any
	if json.Unmarshal(decodeB64(t, parts[0]), &h) != nil {
		t.Fatal("accepted a JWS whose header is not JSON")
	}
	typ, _ := h["typ"].(string)
	if t0 := strings.ToLower(typ); t0 != grant.IDJAGType && t0 != "application/"+grant.IDJAGType {
		t.Fatalf("accepted typ %q", typ)
	}
	var c map[string]json.RawMessage
	if json.Unmarshal(decodeB64(t, parts[1]), &c) != nil {
		t.Fatal("accepted claims that are not a JSON object")
	}
	var aud string
	var auds []string
	if json.Unmarshal(c["aud"], &aud) == nil && c["aud"][0] == '"' {
		auds = []string{aud}
	} else if json.Unmarshal(c["aud"], &auds) != nil {
		t.Fatalf("accepted aud %s", c["aud"])
	}
	if len(auds) != 1 || auds[0] != testAS {
		t.Fatalf("accepted aud %s", c["aud"])
	}
	if r, ok := c["resource"]; ok && string(r) != "null" {
		var res string
		var ress []string
		if !(json.Unmarshal(r, &res) == nil && r[0] == '"' && res == testResource) &&
			!(json.Unmarshal(r, &ress) == nil && len(ress) == 1 && ress[0] == testResource) {
			t.Fatalf("accepted resource %s", r)
		}
	}
	var exp float64
	if len(c["exp"]) == 0 || c["exp"][0] == '"' || json.Unmarshal(c["exp"], &exp) != nil {
		t.Fatalf("accepted exp %s", c["exp"])
	}
	if float64(testT0.Add(-grant.IDJAGSkew).Unix()) > exp {
		t.Fatalf("accepted exp %s, expired at %v", c["exp"], testT0)
	}
	if jag.ExpiresAt.After(testT0.Add(300 * time.Second)) {
		t.Fatalf("expires at %v, later than expires_in", jag.ExpiresAt)
	}
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("accepted a part that is not base64url: %q", s)
	}
	return b
}

// FuzzParsePrivateKey feeds key files to LoadPrivateKey and
// ParsePrivateKey. Neither panics; they agree; an accepted key is an EC
// P-256 or an RSA key of 2048 bits or more, from a PEM private key block,
// and signs what its public key verifies. Public keys and garbage are
// refused.
func FuzzParsePrivateKey(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	f.Add(append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: sec1}))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := grant.ParsePrivateKey(b)
		path := filepath.Join(dir, "key")
		if werr := os.WriteFile(path, b, 0o600); werr != nil {
			t.Fatal(werr)
		}
		k2, err2 := grant.LoadPrivateKey(path)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Parse and Load disagree: %v / %v", err, err2)
		}
		if err != nil {
			if !safeText(err.Error(), 1024) {
				t.Fatalf("error text %q", err.Error())
			}
			return
		}
		if !bytes.Contains(b, []byte("PRIVATE KEY-----")) {
			t.Fatal("accepted a file without a PEM private key block")
		}
		switch pk := k.Public().(type) {
		case *ecdsa.PublicKey:
			if pk.Curve != elliptic.P256() {
				t.Fatalf("accepted curve %s", pk.Curve.Params().Name)
			}
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				t.Fatalf("accepted a %d-bit RSA key", pk.N.BitLen())
			}
		default:
			t.Fatalf("accepted key type %T", pk)
		}
		if !k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Fatal("Load and Parse returned different keys")
		}
		checkSigns(t, k)
	})
}

func checkSigns(t *testing.T, k crypto.Signer) {
	t.Helper()
	digest := sha256.Sum256([]byte("xaad"))
	var opts crypto.SignerOpts = crypto.SHA256
	sig, err := k.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		t.Fatalf("accepted a key that cannot sign: %v", err)
	}
	switch pk := k.Public().(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pk, digest[:], sig) {
			t.Fatal("accepted a key whose signature does not verify")
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pk, crypto.SHA256, digest[:], sig) != nil {
			t.Fatal("accepted a key whose signature does not verify")
		}
	}
}
