package dpop_test

import (
	"net/http"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestTokenNonceChallenge: RFC 9449 §8's 400 use_dpop_nonce with a
// DPoP-Nonce header, and what is not one.
func TestTokenNonceChallenge(t *testing.T) {
	body := []byte(`{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}`)
	h := header("DPoP-Nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v")
	if n, ok := dpop.TokenNonceChallenge(400, h, body); !ok || n != "eyJ7S_zG.eyJH0-Z.HX4w-7v" {
		t.Fatalf("got %q, %v", n, ok)
	}
	tests := []struct {
		name   string
		status int
		h      http.Header
		body   string
	}{
		{"other error", 400, h, `{"error":"invalid_grant"}`},
		{"status 401", 401, h, string(body)},
		{"no nonce header", 400, http.Header{}, string(body)},
		{"two nonce headers", 400, header("DPoP-Nonce", "a", "DPoP-Nonce", "b"), string(body)},
		{"malformed nonce", 400, header("DPoP-Nonce", "a b"), string(body)},
		{"not JSON", 400, h, "use_dpop_nonce"},
		{"error not a string", 400, h, `{"error":["use_dpop_nonce"]}`},
	}
	for _, tc := range tests {
		if n, ok := dpop.TokenNonceChallenge(tc.status, tc.h, []byte(tc.body)); ok {
			t.Errorf("%s: recognised as a nonce challenge (%q)", tc.name, n)
		}
	}
}

// TestResourceNonceChallenge: RFC 9449 §9's 401 with WWW-Authenticate:
// DPoP error="use_dpop_nonce", alone or beside a Bearer challenge.
func TestResourceNonceChallenge(t *testing.T) {
	ok := []http.Header{
		header("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`, "DPoP-Nonce", "n1"),
		header("WWW-Authenticate", `Bearer resource_metadata="https://rs.example/.well-known/oauth-protected-resource"`, "WWW-Authenticate", `dpop algs="ES256", error="use_dpop_nonce"`, "DPoP-Nonce", "n1"),
		header("WWW-Authenticate", `Bearer realm="x", DPoP error="use_dpop_nonce"`, "DPoP-Nonce", "n1"),
		header("WWW-Authenticate", `Bearer error="unterminated`, "WWW-Authenticate", `DPoP error="use_dpop_nonce"`, "DPoP-Nonce", "n1"),
	}
	for i, h := range ok {
		if n, got := dpop.ResourceNonceChallenge(401, h); !got || n != "n1" {
			t.Errorf("case %d: got %q, %v", i, n, got)
		}
	}
	not := []struct {
		name   string
		status int
		h      http.Header
	}{
		{"status 400", 400, ok[0]},
		{"Bearer scheme", 401, header("WWW-Authenticate", `Bearer error="use_dpop_nonce"`, "DPoP-Nonce", "n1")},
		{"invalid proof", 401, header("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`, "DPoP-Nonce", "n1")},
		{"no nonce", 401, header("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)},
		{"no challenge", 401, header("DPoP-Nonce", "n1")},
	}
	for _, tc := range not {
		if n, got := dpop.ResourceNonceChallenge(tc.status, tc.h); got {
			t.Errorf("%s: recognised as a nonce challenge (%q)", tc.name, n)
		}
	}
}
