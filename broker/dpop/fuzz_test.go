package dpop_test

import (
	"net/http"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// FuzzParsePrivate: whatever the stored bytes, ParsePrivate never panics,
// and a key it accepts is a working private key that round-trips.
func FuzzParsePrivate(f *testing.F) {
	k, err := dpop.GenerateKey(dpop.ES256)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := k.MarshalPrivate()
	f.Add(b)
	f.Add([]byte(rfc9449JWK))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","alg":"ES256"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := dpop.ParsePrivate(in)
		if err != nil {
			return
		}
		if _, err := k.Proof(nil, dpop.Request{Method: "GET", URL: "https://rs.example/"}); err != nil {
			t.Fatalf("accepted key cannot sign: %v", err)
		}
		out, err := k.MarshalPrivate()
		if err != nil {
			t.Fatal(err)
		}
		back, err := dpop.ParsePrivate(out)
		if err != nil || back.Thumbprint() != k.Thumbprint() {
			t.Fatalf("accepted key does not round-trip: %v", err)
		}
	})
}

// FuzzResourceNonceChallenge: a hostile WWW-Authenticate or DPoP-Nonce
// never panics, and a nonce that comes back is always a valid one.
func FuzzResourceNonceChallenge(f *testing.F) {
	f.Add(`DPoP error="use_dpop_nonce"`, "n1")
	f.Add(`Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"`, "eyJ7S_zG.eyJH0-Z.HX4w-7v")
	f.Add(`DPoP error="use_dpop_nonce`, "n")
	f.Add(`, ,DPoP`, `"`)
	f.Fuzz(func(t *testing.T, challenge, nonce string) {
		h := http.Header{"Www-Authenticate": {challenge}, "Dpop-Nonce": {nonce}}
		got, ok := dpop.ResourceNonceChallenge(http.StatusUnauthorized, h)
		if !ok {
			return
		}
		if got != nonce || !dpop.NewNonces(1).Set("https://rs.example/", got) {
			t.Fatalf("returned nonce %q is not the valid header value %q", got, nonce)
		}
	})
}
