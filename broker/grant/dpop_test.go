package grant_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/broker/grant"
)

// proofNonce returns the nonce claim of a proof ("" when none), decoding
// the JWS payload as a server would after verifying it.
func proofNonce(t *testing.T, proof string) string {
	t.Helper()
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		t.Fatalf("proof %q is not a compact JWS", proof)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Nonce
}

func dpopEndpoint(t *testing.T, url string) (*grant.Endpoint, *dpop.Nonces) {
	t.Helper()
	k, err := dpop.GenerateKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	n := dpop.NewNonces(0)
	ep := endpoint(url)
	ep.DPoP = &grant.DPoP{Key: k, Nonces: n}
	return ep, n
}

// use_dpop_nonce: the same form once more with a proof carrying the nonce,
// and no third request however often the server asks; the nonce of a
// successful answer is kept for the next request.
func TestDPoPNonceRetry(t *testing.T) {
	var mu sync.Mutex
	var bodies, nonces []string
	challenges := 1
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, r.PostForm.Encode())
		nonces = append(nonces, proofNonce(t, r.Header.Get("DPoP")))
		if challenges > 0 {
			challenges--
			w.Header().Set("DPoP-Nonce", "n1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"use_dpop_nonce"}`))
			return
		}
		w.Header().Set("DPoP-Nonce", "n2")
		w.Write([]byte(`{"access_token":"at","token_type":"DPoP","expires_in":60}`))
	})
	ep, remembered := dpopEndpoint(t, url)
	at, err := grant.JWTBearer(context.Background(), ep, grant.BearerRequest{Assertion: "jag"})
	if err != nil {
		t.Fatal(err)
	}
	if at.Type != "DPoP" || at.JKT != ep.DPoP.Key.Thumbprint() {
		t.Errorf("token type %q jkt %q, want DPoP bound to the key", at.Type, at.JKT)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] != bodies[1] || nonces[0] != "" || nonces[1] != "n1" {
		t.Fatalf("requests %q with nonces %q; want the same form twice, the second with n1", bodies, nonces)
	}
	if got := remembered.Get(url); got != "n2" {
		t.Errorf("remembered nonce %q, want n2 from the last answer", got)
	}

	challenges = 5
	mu.Unlock()
	_, err = grant.JWTBearer(context.Background(), ep, grant.BearerRequest{Assertion: "jag2"})
	mu.Lock()
	var oe *grant.OAuthError
	if !errors.As(err, &oe) || oe.Code != "use_dpop_nonce" || len(bodies) != 4 || nonces[2] != "n2" {
		t.Fatalf("a server asking again: %v after %d requests (nonces %q); want use_dpop_nonce after 2 more", err, len(bodies)-2, nonces[2:])
	}
}

// The token_type of the answer must fit the request: DPoP only after a
// proof.
func TestDPoPTokenType(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"at","token_type":"dpop","expires_in":60}`))
	})
	if _, err := grant.JWTBearer(context.Background(), endpoint(url), grant.BearerRequest{Assertion: "jag"}); !errors.Is(err, grant.ErrMalformed) {
		t.Errorf("a DPoP token without a proof: %v, want ErrMalformed", err)
	}
	ep, _ := dpopEndpoint(t, url)
	if at, err := grant.JWTBearer(context.Background(), ep, grant.BearerRequest{Assertion: "jag"}); err != nil || at.Type != "DPoP" {
		t.Errorf("token_type dpop (any case) after a proof: %+v, %v", at, err)
	}
}
