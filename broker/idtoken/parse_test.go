package idtoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func signed(t *testing.T, payload string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Claim names are unique (RFC 7519 §4) and case-sensitive: encoding/json
// let "ISS" or a second "sub" decide who the token names.
func TestParseClaimsAreStrict(t *testing.T) {
	const ok = `{"iss":"https://idp.example","sub":"alice","aud":"c","exp":4102444800}`
	if _, err := Parse(signed(t, ok)); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]string{
		"case-variant iss": `{"iss":"https://idp.example","ISS":"https://evil.example","sub":"alice","aud":"c","exp":4102444800}`,
		"sub twice":        `{"iss":"https://idp.example","sub":"alice","sub":"mallory","aud":"c","exp":4102444800}`,
		"only Sub":         `{"iss":"https://idp.example","Sub":"alice","aud":"c","exp":4102444800}`,
	} {
		if _, err := Parse(signed(t, p)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
