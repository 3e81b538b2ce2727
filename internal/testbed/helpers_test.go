package testbed

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_790_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func start(t *testing.T, opts Options) *Testbed {
	t.Helper()
	tb, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(tb.Close)
	return tb
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

// basicAuth encodes per RFC 6749 §2.3.1: form-urlencode, then base64.
func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		raw := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(raw)))
	}
}

func postForm(t *testing.T, tb *Testbed, target string, form url.Values, auth func(*http.Request)) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != nil {
		auth(req)
	}
	return do(t, tb, req)
}

func get(t *testing.T, tb *Testbed, target string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, tb, req)
}

func do(t *testing.T, tb *Testbed, req *http.Request) response {
	t.Helper()
	resp, err := tb.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
			t.Fatalf("decode %s: %v", req.URL, err)
		}
	}
	return r
}

func idpBasic(tb *Testbed) func(*http.Request) {
	return basicAuth(tb.opts.IdPClient.ID, tb.opts.IdPClient.Secret)
}

func asBasic(tb *Testbed) func(*http.Request) {
	return basicAuth(tb.opts.ASClient.ID, tb.opts.ASClient.Secret)
}

func mustIDToken(t *testing.T, tb *Testbed, o IDTokenOptions) string {
	t.Helper()
	tok, err := tb.IdP.MintIDToken(o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// exchangeForm is the exact token-exchange request of docs/protocol.md §6 item 1.
func exchangeForm(tb *Testbed, idToken string) url.Values {
	return url.Values{
		"grant_type":           {grantTokenExchange},
		"requested_token_type": {tokenTypeIDJAG},
		"subject_token":        {idToken},
		"subject_token_type":   {tokenTypeIDToken},
		"audience":             {tb.AS.Issuer()},
		"resource":             {tb.MCP.URL()},
		"scope":                {"tools.read tools.call"},
	}
}

// exchange returns a fresh ID-JAG, failing the test otherwise.
func exchange(t *testing.T, tb *Testbed) string {
	t.Helper()
	r := postForm(t, tb, tb.IdP.TokenEndpoint(), exchangeForm(tb, mustIDToken(t, tb, IDTokenOptions{})), idpBasic(tb))
	if r.status != http.StatusOK {
		t.Fatalf("token exchange: %d %v", r.status, r.body)
	}
	return r.str("access_token")
}

func bearerForm(assertion string) url.Values {
	return url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}
}

// accessToken runs both grants and returns the access token.
func accessToken(t *testing.T, tb *Testbed) string {
	t.Helper()
	r := postForm(t, tb, tb.AS.TokenEndpoint(), bearerForm(exchange(t, tb)), asBasic(tb))
	if r.status != http.StatusOK {
		t.Fatalf("jwt-bearer: %d %v", r.status, r.body)
	}
	return r.str("access_token")
}

// decodeJWT returns the unverified header and claims of a compact JWS.
func decodeJWT(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// rawJWT builds a compact JWS from a header and claims with the given
// signature bytes, for tokens go-jose refuses to produce (alg none, HMAC).
func rawJWT(t *testing.T, header, claims map[string]any, sig func(signingInput string) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(sig(in))
}

func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got %d %v, want %d %s", r.status, r.body, status, code)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func encode(form map[string][]string) string { return url.Values(form).Encode() }

// noAuth sends no client credentials.
func noAuth(*http.Request) {}

// checkBasicChallenge: RFC 6749 §5.2 wants WWW-Authenticate on a 401 exactly
// when the client used the Authorization header.
func checkBasicChallenge(t *testing.T, r response, auth func(*http.Request)) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		return
	}
	req, _ := http.NewRequest(http.MethodPost, "http://x", nil)
	auth(req)
	if used, got := req.Header.Get("Authorization") != "", r.header.Get("WWW-Authenticate") != ""; used != got {
		t.Errorf("WWW-Authenticate present = %v, Authorization used = %v", got, used)
	}
}
