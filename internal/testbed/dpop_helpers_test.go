package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// dpopKeys returns one P-256 key twice: raw, for ForgeProof, and as the
// broker's dpop.Key, so forged and honest proofs come from the same key.
func dpopKeys(t testing.TB) (*ecdsa.PrivateKey, *dpop.Key) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&jose.JSONWebKey{Key: raw, Algorithm: "ES256"}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	k, err := dpop.ParsePrivate(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw, k
}

// nowFunc adapts the testbed's clock to dpop.Clock.
type nowFunc func() time.Time

func (f nowFunc) Now() time.Time { return f() }

func mustProof(t *testing.T, tb *Testbed, k *dpop.Key, r dpop.Request) string {
	t.Helper()
	p, err := k.Proof(nowFunc(tb.opts.Now), r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustForge(t *testing.T, tb *Testbed, key *ecdsa.PrivateKey, r ForgeRequest) string {
	t.Helper()
	r.IssuedAt, r.Window = tb.Now(), tb.opts.DPoP.IatWindow
	p, err := ForgeProof(key, r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postWithProofs is postForm with DPoP headers, one per proof.
func postWithProofs(t *testing.T, tb *Testbed, target string, form url.Values, auth func(*http.Request), proofs ...string) response {
	t.Helper()
	return postForm(t, tb, target, form, func(r *http.Request) {
		auth(r)
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
	})
}

// dpopExchange runs the token exchange with a proof of k.
func dpopExchange(t *testing.T, tb *Testbed, k *dpop.Key) string {
	t.Helper()
	proof := mustProof(t, tb, k, dpop.Request{Method: "POST", URL: tb.IdP.TokenEndpoint()})
	r := postWithProofs(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})), idpBasic(tb), proof)
	if r.status != http.StatusOK {
		t.Fatalf("token exchange with DPoP: %d %v", r.status, r.body)
	}
	return r.str("access_token")
}

// dpopAccessToken runs both grants with proofs of k and returns the
// DPoP-bound access token.
func dpopAccessToken(t *testing.T, tb *Testbed, k *dpop.Key) string {
	t.Helper()
	proof := mustProof(t, tb, k, dpop.Request{Method: "POST", URL: tb.AS.TokenEndpoint()})
	r := postWithProofs(t, tb, tb.AS.TokenEndpoint(), bearerForm(dpopExchange(t, tb, k)), asBasic(tb), proof)
	if r.status != http.StatusOK || r.str("token_type") != "DPoP" {
		t.Fatalf("jwt-bearer with DPoP: %d %v", r.status, r.body)
	}
	return r.str("access_token")
}

// mcpCall posts an initialize request with "Authorization: <scheme> tok"
// and one DPoP header per proof.
func mcpCall(t *testing.T, tb *Testbed, scheme, tok string, proofs ...string) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tb.MCP.URL(), strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return do(t, tb, req)
}

// dpopChallengeOf returns the params of the response's DPoP challenge.
func dpopChallengeOf(t *testing.T, r response) map[string]string {
	t.Helper()
	for _, line := range r.header.Values("WWW-Authenticate") {
		if rest, ok := strings.CutPrefix(line, "DPoP "); ok {
			params := map[string]string{}
			for _, kv := range splitParams(rest) {
				k, v, _ := strings.Cut(kv, "=")
				params[k] = strings.Trim(v, `"`)
			}
			return params
		}
	}
	t.Fatalf("no DPoP challenge in %q", r.header.Values("WWW-Authenticate"))
	return nil
}

// splitParams splits auth-params at commas outside quotes.
func splitParams(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func wantRule(t *testing.T, desc string, rule ProofRule) {
	t.Helper()
	if !strings.HasPrefix(desc, string(rule)+": ") {
		t.Errorf("refused as %q, want rule %q", desc, rule)
	}
}
