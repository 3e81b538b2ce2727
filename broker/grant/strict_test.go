package grant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/grant"
)

const (
	testAS       = "https://as.example"
	testResource = "https://mcp.example/mcp"
)

var testT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// signJAG signs claims as an IdP would sign an ID-JAG.
func signJAG(t testing.TB, typ string, claims any) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	switch c := claims.(type) {
	case string:
		payload = []byte(c)
	default:
		if payload, err = json.Marshal(c); err != nil {
			t.Fatal(err)
		}
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goodClaims(exp time.Time) map[string]any {
	return map[string]any{"iss": "https://idp.example", "sub": "alice", "aud": testAS, "resource": testResource,
		"client_id": "c", "jti": "j1", "iat": testT0.Add(-time.Minute).Unix(), "exp": exp.Unix()}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// exchangeWith runs a token exchange whose answer carries the ID-JAG jag,
// received at testT0.
func exchangeWith(t *testing.T, jag string) (*grant.IDJAG, error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"access_token": jag, "issued_token_type": grant.TokenTypeIDJAG, "token_type": "N_A", "expires_in": 300})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	ep := endpoint(url)
	ep.Now = func() time.Time { return testT0 }
	return grant.Exchange(context.Background(), ep, grant.ExchangeRequest{SubjectToken: "id", Audience: testAS, Resource: testResource})
}

// Any five-part string used to pass as an encrypted ID-JAG, unchecked. A
// JWE is recognised by its protected header (RFC 7516 §9: "enc" tells a
// JWE from a JWS); anything else with five parts is refused.
func TestIDJAGJWEIsRecognisedByItsHeader(t *testing.T) {
	jweHeader := b64(`{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}`)
	refused := map[string]string{
		"five arbitrary parts":  "a.b.c.d.e",
		"empty parts":           "....",
		"JWS header":            b64(`{"alg":"ES256","typ":"oauth-id-jag+jwt"}`) + ".a2V5.aXY.Y3Q.dGFn",
		"no enc":                b64(`{"alg":"dir"}`) + ".a2V5.aXY.Y3Q.dGFn",
		"alg none":              b64(`{"alg":"none","enc":"A256GCM"}`) + ".a2V5.aXY.Y3Q.dGFn",
		"header not JSON":       b64(`alg=dir`) + ".a2V5.aXY.Y3Q.dGFn",
		"header with trailing":  b64(`{"alg":"dir","enc":"A256GCM"} {}`) + ".a2V5.aXY.Y3Q.dGFn",
		"case-variant enc":      b64(`{"alg":"dir","ENC":"A256GCM"}`) + ".a2V5.aXY.Y3Q.dGFn",
		"empty ciphertext":      jweHeader + ".a2V5.aXY..dGFn",
		"part not base64url":    jweHeader + ".a2V5.a+Y.Y3Q.dGFn",
		"space in a part":       jweHeader + ".a2V5.aX Y.Y3Q.dGFn",
		"padding in the header": jweHeader + "==.a2V5.aXY.Y3Q.dGFn",
	}
	for name, jag := range refused {
		if _, err := exchangeWith(t, jag); !errors.Is(err, grant.ErrRejectedToken) {
			t.Errorf("%s: err = %v, want ErrRejectedToken", name, err)
		}
	}
	for _, jag := range []string{jweHeader + ".a2V5.aXY.Y3Q.dGFn", jweHeader + "..aXY.Y3Q.dGFn"} {
		if _, err := exchangeWith(t, jag); err != nil {
			t.Errorf("a well-formed JWE (%s) was refused: %v", jag, err)
		}
	}
}

// An ID-JAG whose exp has passed used to be accepted and sent to the AS,
// which must refuse it (RFC 7523 §3 item 4). exp is required and must be a
// NumericDate; a small skew is tolerated.
func TestIDJAGExpiry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims any
		ok     bool
	}{
		{"fresh", goodClaims(testT0.Add(5 * time.Minute)), true},
		{"expired within the skew", goodClaims(testT0.Add(-30 * time.Second)), true},
		{"expired", goodClaims(testT0.Add(-2 * time.Minute)), false},
		{"long expired", goodClaims(time.Unix(1, 0)), false},
		{"no exp", `{"aud":"https://as.example","resource":"https://mcp.example/mcp"}`, false},
		{"exp as a string", `{"aud":"https://as.example","exp":"1893553445"}`, false},
		{"exp null", `{"aud":"https://as.example","exp":null}`, false},
		{"huge exp", `{"aud":"https://as.example","exp":1e300}`, true},
	} {
		jag, err := exchangeWith(t, signJAG(t, "oauth-id-jag+jwt", tc.claims))
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if err == nil && jag.ExpiresAt.After(testT0.Add(300*time.Second)) {
			t.Errorf("%s: expires at %v, later than expires_in allows", tc.name, jag.ExpiresAt)
		}
		if err != nil && !errors.Is(err, grant.ErrRejectedToken) {
			t.Errorf("%s: err = %v, want ErrRejectedToken", tc.name, err)
		}
	}
}

// Claims are read as one exact JSON object: a case-variant or repeated aud
// is a second opinion on the audience, never a match.
func TestIDJAGClaimsAreStrict(t *testing.T) {
	exp := testT0.Add(time.Minute).Unix()
	for name, claims := range map[string]string{
		"case-variant aud":  `{"AUD":"https://as.example","exp":` + jsonInt(exp) + `}`,
		"aud twice":         `{"aud":"https://evil.example","aud":"https://as.example","exp":` + jsonInt(exp) + `}`,
		"trailing data":     `{"aud":"https://as.example","exp":` + jsonInt(exp) + `} {}`,
		"typ JWT":           "",
		"aud of two values": `{"aud":["https://as.example","https://evil.example"],"exp":` + jsonInt(exp) + `}`,
	} {
		typ := "oauth-id-jag+jwt"
		if claims == "" {
			typ, claims = "JWT", `{"aud":"https://as.example","exp":`+jsonInt(exp)+`}`
		}
		if _, err := exchangeWith(t, signJAG(t, typ, claims)); !errors.Is(err, grant.ErrRejectedToken) {
			t.Errorf("%s: err = %v, want ErrRejectedToken", name, err)
		}
	}
	if _, err := exchangeWith(t, signJAG(t, "application/OAUTH-ID-JAG+JWT", goodClaims(testT0.Add(time.Minute)))); err != nil {
		t.Errorf("typ with application/ and upper case (RFC 7515 §4.1.9): %v", err)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Token responses are one exact JSON object: encoding/json's Decoder took
// the first of {...}{...}, and matched "ACCESS_TOKEN" to access_token.
func TestTokenResponsesAreStrict(t *testing.T) {
	for name, body := range map[string]string{
		"trailing object":     `{"access_token":"at","token_type":"Bearer"}{"access_token":"other"}`,
		"trailing garbage":    `{"access_token":"at","token_type":"Bearer"} x`,
		"case-variant member": `{"ACCESS_TOKEN":"at","token_type":"Bearer"}`,
		"repeated member":     `{"access_token":"at","access_token":"at2","token_type":"Bearer"}`,
		"not an object":       `["at"]`,
		"token with newline":  `{"access_token":"a\nt","token_type":"Bearer"}`,
		"scope not RFC 6749":  `{"access_token":"at","token_type":"Bearer","scope":"a \"b\""}`,
		"scope with NEL":      `{"access_token":"at","token_type":"Bearer","scope":"a\u0085b"}`,
	} {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) })
		if _, err := grant.JWTBearer(context.Background(), endpoint(url), grant.BearerRequest{Assertion: "jag"}); !errors.Is(err, grant.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// An error body with case-variant members is not read as an OAuth error:
// its "code" would be a guess.
func TestErrorResponsesAreStrict(t *testing.T) {
	for name, body := range map[string]string{
		"case-variant error": `{"Error":"invalid_grant"}`,
		"trailing data":      `{"error":"invalid_grant"} {"error":"server_error"}`,
		"repeated error":     `{"error":"server_error","error":"invalid_grant"}`,
	} {
		url := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(body))
		})
		var oe *grant.OAuthError
		err := func() error {
			_, err := grant.JWTBearer(context.Background(), endpoint(url), grant.BearerRequest{Assertion: "jag"})
			return err
		}()
		if !errors.As(err, &oe) || oe.Code != "" || oe.Status != 400 {
			t.Errorf("%s: err = %v, want an OAuthError without a code", name, err)
		}
	}
}
