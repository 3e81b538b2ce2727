package testbed

import (
	"crypto/ecdsa"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// fuzzProofKey is a fixed test key, so that every fuzz worker knows the
// one key whose proofs may pass. It protects nothing.
const fuzzProofKey = `{"use":"sig","kty":"EC","crv":"P-256","alg":"ES256","x":"p4K6bfOMERaJU6kUpgoYBTcVwN43q_KeCuuooc3mATE","y":"DDUiGKtw9v3cIV3hrek3ax6S1-1swzjGEneS8w6HDT8","d":"Uf1UM1Ut9a91lDa4TcjOpuiIyVlpayvFKmgKqCX6_Nk"}`

// FuzzDPoPProof feeds hostile DPoP headers to the verifier as the MCP
// server runs it. It never panics, a refusal never yields a key, nothing
// passes unless signed by the seed key (the fuzzer cannot sign), and what
// passes once never passes again: canonical base64url leaves a signed
// proof one spelling, so the jti cache catches every replay.
func FuzzDPoPProof(f *testing.F) {
	now := time.Unix(1_790_000_000, 0)
	const target, token = "http://127.0.0.1:8080/mcp", "access-token"
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON([]byte(fuzzProofKey)); err != nil {
		f.Fatal(err)
	}
	raw := jwk.Key.(*ecdsa.PrivateKey)
	key, err := dpop.ParsePrivate([]byte(fuzzProofKey))
	if err != nil {
		f.Fatal(err)
	}
	p, err := key.Proof(nowFunc(func() time.Time { return now }), dpop.Request{Method: "POST", URL: target, AccessToken: token})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	for _, flaw := range []ProofFlaw{FlawNone, FlawAlgNone, FlawAlgHS256, FlawPrivateJWK, FlawBadSignature, FlawSignedByOther, FlawCrit, FlawPaddedBase64, FlawNoJTI} {
		p, err := ForgeProof(raw, ForgeRequest{Method: "POST", URL: target, AccessToken: token, IssuedAt: now, Flaw: flaw})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	opts := DPoPOptions{}.withDefaults()
	req := proofRequest{method: "POST", target: target, accessToken: token}
	f.Fuzz(func(t *testing.T, proof string) {
		s := &dpopServer{opts: opts, algs: opts.algs(), now: func() time.Time { return now }, replay: newJTICache(8)}
		r, _ := http.NewRequest(http.MethodPost, target, nil)
		r.Header.Set("DPoP", proof)
		jkt, perr := s.verify(r, req)
		if perr != nil {
			if jkt != "" {
				t.Fatalf("refused proof returned a key %q", jkt)
			}
			return
		}
		if jkt != key.Thumbprint() {
			t.Fatalf("accepted a proof of a key nobody holds (%s): %q", jkt, proof)
		}
		if _, again := s.verify(r, req); again == nil || again.rule != RuleReplay {
			t.Fatalf("the same proof passed twice: %v", again)
		}
	})
}
