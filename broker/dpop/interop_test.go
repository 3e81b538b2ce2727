package dpop_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/internal/testenv"
)

// TestOIDCProviderInterop has an independent DPoP verifier, the npm
// oidc-provider, check proofs made by this package: its token endpoint
// validates them (RFC 9449 §4.3, §5), binds the client_credentials token it
// issues to the proof key, and its introspection endpoint reports that
// binding, which must be our thumbprint. Once without and once with
// required nonces (RFC 9449 §8), for every algorithm. It needs Node and
// the package installed, which scripts/dpop-interop.sh does; without
// XAAD_DPOP_INTEROP_NODE and XAAD_DPOP_INTEROP_SCRIPT it skips.
func TestOIDCProviderInterop(t *testing.T) {
	node, script := os.Getenv("XAAD_DPOP_INTEROP_NODE"), os.Getenv("XAAD_DPOP_INTEROP_SCRIPT")
	if node == "" || script == "" {
		testenv.OptIn(t, "scripts/dpop-interop.sh runs it, with Node 22 and oidc-provider installed")
	}
	for _, requireNonce := range []bool{false, true} {
		t.Run(map[bool]string{false: "no nonce", true: "nonce"}[requireNonce], func(t *testing.T) {
			op := startProvider(t, node, script, requireNonce)
			alg, err := dpop.ChooseAlgorithm(op.algs)
			if err != nil || alg != dpop.ES256 {
				t.Fatalf("ChooseAlgorithm(%v) = %s, %v", op.algs, alg, err)
			}
			nonces := dpop.NewNonces(0)
			for _, alg := range dpop.Supported() {
				k := keyFor(t, alg)
				at := op.token(t, k, nonces)
				if jkt := op.introspect(t, at); jkt != k.Thumbprint() {
					t.Errorf("%s: oidc-provider bound the token to %q, our thumbprint is %q", alg, jkt, k.Thumbprint())
				}
			}
			// The first request of the nonce run has no nonce and must be
			// challenged; later ones carry the remembered nonce.
			if want := map[bool]int{false: 0, true: 1}[requireNonce]; op.challenges < want || (!requireNonce && op.challenges != 0) {
				t.Errorf("use_dpop_nonce answers = %d, want %d or more (and none without nonces)", op.challenges, want)
			}
			op.refusesBadProofs(t, keyFor(t, dpop.ES256), nonces)
		})
	}
}

type provider struct {
	tokenURL, introspectURL string
	algs                    []string
	hc                      *http.Client
	challenges              int // use_dpop_nonce answers seen
}

func startProvider(t *testing.T, node, script string, requireNonce bool) *provider {
	t.Helper()
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "DPOP_REQUIRE_NONCE="+map[bool]string{false: "0", true: "1"}[requireNonce])
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	t.Cleanup(func() {
		stdin.Close() // the script exits when its stdin ends
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- issuer
			}
		}
		close(ready)
	}()
	var issuer string
	select {
	case issuer = <-ready:
	case <-time.After(60 * time.Second): // a guard against a hung Node, not a measurement
	}
	if issuer == "" {
		t.Fatalf("oidc-provider did not start:\n%s", stderr.String())
	}
	op := &provider{hc: &http.Client{Timeout: 30 * time.Second}}
	var md struct {
		Token      string   `json:"token_endpoint"`
		Introspect string   `json:"introspection_endpoint"`
		Algs       []string `json:"dpop_signing_alg_values_supported"`
	}
	op.getJSON(t, issuer+"/.well-known/openid-configuration", &md)
	op.tokenURL, op.introspectURL, op.algs = md.Token, md.Introspect, md.Algs
	return op
}

func (op *provider) getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := op.hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// post sends a client_credentials (or other) form with Basic auth and an
// optional DPoP proof, and returns status, headers and body.
func (op *provider) post(t *testing.T, target string, form url.Values, proof string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("xaad-interop", "xaad-interop-secret")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := op.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, body
}

var ccForm = url.Values{"grant_type": {"client_credentials"}}

// token gets a DPoP-bound access token the way a client must: remember the
// server's nonce, and on use_dpop_nonce retry once with it.
func (op *provider) token(t *testing.T, k *dpop.Key, nonces *dpop.Nonces) string {
	t.Helper()
	for attempt := range 2 {
		proof, err := k.Proof(nil, dpop.Request{Method: "POST", URL: op.tokenURL, Nonce: nonces.Get(op.tokenURL)})
		if err != nil {
			t.Fatal(err)
		}
		status, h, body := op.post(t, op.tokenURL, ccForm, proof)
		nonces.Observe(op.tokenURL, h)
		if n, ok := dpop.TokenNonceChallenge(status, h, body); ok && attempt == 0 {
			op.challenges++
			nonces.Set(op.tokenURL, n)
			continue
		}
		var tr struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.TokenType != "DPoP" {
			t.Fatalf("%s: token endpoint answered %d %s", k.Algorithm(), status, body)
		}
		return tr.AccessToken
	}
	t.Fatalf("%s: still asked for a nonce after retrying with one", k.Algorithm())
	return ""
}

func (op *provider) introspect(t *testing.T, at string) string {
	t.Helper()
	status, _, body := op.post(t, op.introspectURL, url.Values{"token": {at}}, "")
	var ir struct {
		Active    bool   `json:"active"`
		TokenType string `json:"token_type"`
		Cnf       struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &ir) != nil || !ir.Active || ir.TokenType != "DPoP" {
		t.Fatalf("introspection: %d %s", status, body)
	}
	return ir.Cnf.JKT
}

// refusesBadProofs shows the verifier is really checking: a proof for
// another URI, for another method, and a replayed proof all fail.
func (op *provider) refusesBadProofs(t *testing.T, k *dpop.Key, nonces *dpop.Nonces) {
	t.Helper()
	proof := func(method, target string) string {
		p, err := k.Proof(nil, dpop.Request{Method: method, URL: target, Nonce: nonces.Get(op.tokenURL)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	replayed := proof("POST", op.tokenURL)
	if status, h, body := op.post(t, op.tokenURL, ccForm, replayed); status != http.StatusOK {
		t.Fatalf("fresh proof: %d %s", status, body)
	} else {
		nonces.Observe(op.tokenURL, h)
	}
	for name, p := range map[string]string{
		"htu of another endpoint": proof("POST", op.introspectURL),
		"htm GET":                 proof("GET", op.tokenURL),
		"replay":                  replayed,
	} {
		if status, _, body := op.post(t, op.tokenURL, ccForm, p); status == http.StatusOK {
			t.Errorf("%s: oidc-provider accepted it: %s", name, body)
		}
	}
}
