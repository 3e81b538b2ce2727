package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/xaad-dev/xaad/client/clienttest"
	"github.com/xaad-dev/xaad/internal/httpreplay"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// fakeProvider hands out tokens[0] normally and tokens[1] on ForceRefresh,
// and records every request.
type fakeProvider struct {
	tokens [2]string
	err    error

	mu   sync.Mutex
	reqs []TokenRequest
}

func (f *fakeProvider) GetToken(_ context.Context, r TokenRequest) (*Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	if f.err != nil {
		return nil, f.err
	}
	if r.ForceRefresh {
		return &Token{AccessToken: f.tokens[1]}, nil
	}
	return &Token{AccessToken: f.tokens[0]}, nil
}

func (f *fakeProvider) forced() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []bool
	for _, r := range f.reqs {
		out = append(out, r.ForceRefresh)
	}
	return out
}

// mcpServer accepts only "Bearer good" and records what each request carried.
type mcpServer struct {
	mu     sync.Mutex
	auths  []string
	bodies []string
}

func (m *mcpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.auths = append(m.auths, r.Header.Get("Authorization"))
	m.bodies = append(m.bodies, string(body))
	m.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer good" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "ok")
}

func (m *mcpServer) seen() ([]string, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.auths...), append([]string(nil), m.bodies...)
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name       string
		tokens     [2]string
		newReq     func(url string) *http.Request
		wantStatus int
		wantAuths  []string
		wantForced []bool
	}{
		{
			name:       "valid token",
			tokens:     [2]string{"good", "unused"},
			newReq:     postReplayable,
			wantStatus: 200,
			wantAuths:  []string{"Bearer good"},
			wantForced: []bool{false},
		},
		{
			name:       "401 then fresh token",
			tokens:     [2]string{"revoked", "good"},
			newReq:     postReplayable,
			wantStatus: 200,
			wantAuths:  []string{"Bearer revoked", "Bearer good"},
			wantForced: []bool{false, true},
		},
		{
			name:       "only one retry",
			tokens:     [2]string{"revoked", "also-bad"},
			newReq:     postReplayable,
			wantStatus: 401,
			wantAuths:  []string{"Bearer revoked", "Bearer also-bad"},
			wantForced: []bool{false, true},
		},
		{
			name:       "no retry with the same token",
			tokens:     [2]string{"revoked", "revoked"},
			newReq:     postReplayable,
			wantStatus: 401,
			wantAuths:  []string{"Bearer revoked"},
			wantForced: []bool{false, true},
		},
		{
			name:   "no retry when the body cannot be replayed",
			tokens: [2]string{"revoked", "good"},
			newReq: func(url string) *http.Request {
				r := postReplayable(url)
				r.GetBody = nil
				return r
			},
			wantStatus: 401,
			wantAuths:  []string{"Bearer revoked"},
			wantForced: []bool{false},
		},
		{
			name:   "GET without body is retried",
			tokens: [2]string{"revoked", "good"},
			newReq: func(url string) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, url, nil)
				return r
			},
			wantStatus: 200,
			wantAuths:  []string{"Bearer revoked", "Bearer good"},
			wantForced: []bool{false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &mcpServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			prov := &fakeProvider{tokens: tt.tokens}
			hc := &http.Client{Transport: &Transport{Source: prov, Resource: ts.URL}}

			req := tt.newReq(ts.URL)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			auths, bodies := srv.seen()
			if strings.Join(auths, ",") != strings.Join(tt.wantAuths, ",") {
				t.Errorf("server saw %q, want %q", auths, tt.wantAuths)
			}
			for i, b := range bodies {
				if req.Method == http.MethodPost && b != `{"jsonrpc":"2.0"}` {
					t.Errorf("body of request %d = %q, want the original", i, b)
				}
			}
			if got := prov.forced(); !equalBools(got, tt.wantForced) {
				t.Errorf("token requests forced = %v, want %v", got, tt.wantForced)
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}

func postReplayable(url string) *http.Request {
	// http.NewRequest sets GetBody for a strings.Reader body.
	r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0"}`))
	return r
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTransportSourceError(t *testing.T) {
	ts := httptest.NewServer(&mcpServer{})
	defer ts.Close()
	prov := &fakeProvider{err: fromRPC(clienttest.Error(codes.FailedPrecondition, xaadv1.Reason_REASON_LOGIN_REQUIRED, "log in"), "/s")}
	hc := &http.Client{Transport: &Transport{Source: prov, Resource: ts.URL}}
	_, err := hc.Get(ts.URL)
	if !IsLoginRequired(err) {
		t.Errorf("err = %v, want LOGIN_REQUIRED through *url.Error", err)
	}
}

// TestTransportWithClient runs the whole path: HTTP request, Transport,
// Client, gRPC over a Unix socket, fake daemon, and the 401 retry.
func TestTransportWithClient(t *testing.T) {
	ts := httptest.NewServer(&mcpServer{})
	defer ts.Close()
	fake := &clienttest.Fake{
		GetTokenFunc: func(_ context.Context, r *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
			if r.GetResource() != ts.URL {
				return nil, clienttest.Error(codes.PermissionDenied, xaadv1.Reason_REASON_SERVER_NOT_ALLOWED, "no")
			}
			if r.GetForceRefresh() {
				return &xaadv1.GetTokenResponse{AccessToken: "good", TokenType: "Bearer"}, nil
			}
			return &xaadv1.GetTokenResponse{AccessToken: "old", TokenType: "Bearer"}, nil
		},
	}
	c := dial(t, fake)
	hc := &http.Client{Transport: &Transport{Source: c, Resource: ts.URL}}
	resp, err := hc.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("got %d %q, want 200 ok", resp.StatusCode, body)
	}

	// The daemon's refusal comes back before anything is sent.
	other := &http.Client{Transport: &Transport{Source: c, Resource: "https://elsewhere.invalid/mcp"}}
	_, err = other.Get("https://elsewhere.invalid/mcp")
	if !IsServerNotAllowed(err) {
		t.Errorf("err = %v, want SERVER_NOT_ALLOWED", err)
	}
}

// A redirect to another server must not carry the token: http.Client calls
// the transport again for the new URL, and only the resource's origin gets
// one. Both a 307 (POST replayed with its body) and a GET are checked.
func TestTransportNoTokenAcrossRedirect(t *testing.T) {
	other := &mcpServer{}
	ts2 := httptest.NewServer(other)
	defer ts2.Close()
	ts1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ts2.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer ts1.Close()

	prov := &fakeProvider{tokens: [2]string{"good", "good"}}
	hc := &http.Client{Transport: &Transport{Source: prov, Resource: ts1.URL + "/mcp"}}
	for _, req := range []*http.Request{postReplayable(ts1.URL + "/mcp"), mustGet(t, ts1.URL+"/mcp")} {
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		httpreplay.Drain(resp)
	}
	auths, bodies := other.seen()
	if len(auths) != 2 {
		t.Fatalf("the second server saw %d requests, want 2", len(auths))
	}
	for i, a := range auths {
		if a != "" {
			t.Errorf("request %d to the other server carried Authorization %q", i, a)
		}
	}
	if bodies[0] == "" {
		t.Error("the redirected POST lost its body")
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSameOrigin(t *testing.T) {
	const res = "https://mcp.example/mcp"
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://mcp.example/mcp", true},
		{"https://MCP.example:443/other?x=1", true},
		{"http://mcp.example/mcp", false},
		{"https://mcp.example:8443/mcp", false},
		{"https://evil.example/mcp", false},
		{"https://mcp.example.evil.example/mcp", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := SameOrigin(u, res); got != tc.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tc.url, res, got, tc.want)
		}
	}
	u, _ := url.Parse("https://mcp.example/mcp")
	if SameOrigin(u, "::not a url") || SameOrigin(u, "/relative") {
		t.Error("a resource without a host matched")
	}
}

// scopeProvider grants exactly the scopes asked for, or granted when the
// request names none, and numbers its tokens "t<n>-<scopes>".
type scopeProvider struct {
	mu      sync.Mutex
	n       int
	granted []string
	asked   [][]string
}

func (p *scopeProvider) GetToken(_ context.Context, r TokenRequest) (*Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.asked = append(p.asked, r.Scopes)
	scopes := r.Scopes
	if scopes == nil {
		scopes = p.granted
	}
	return &Token{AccessToken: fmt.Sprintf("t%d-%s", p.n, strings.Join(scopes, "+")), Scopes: scopes}, nil
}

func (p *scopeProvider) requests() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked)
}

// scopeServer answers 403 insufficient_scope naming need unless the token
// carries every scope of need.
func scopeServer(t *testing.T, need []string, forbidden *atomic.Int32) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"jsonrpc":"2.0"}` && r.Method == http.MethodPost {
			t.Errorf("body %q, want the original", body)
		}
		_, scopes, _ := strings.Cut(r.Header.Get("Authorization"), "-")
		have := strings.Split(scopes, "+")
		for _, s := range need {
			if !slices.Contains(have, s) {
				forbidden.Add(1)
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+strings.Join(need, " ")+`", resource_metadata="https://x/.well-known/oauth-protected-resource"`)
				http.Error(w, "more scopes", http.StatusForbidden)
				return
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(ts.Close)
	return ts
}

// A 403 insufficient_scope with StepUp asks for the union of the scopes
// requested, held and challenged, retries once, and keeps asking for the
// union; OnStepUp hears of it once.
func TestTransportStepUp(t *testing.T) {
	var forbidden atomic.Int32
	ts := scopeServer(t, []string{"a", "b"}, &forbidden)
	prov := &scopeProvider{granted: []string{"c"}}
	var steps [][]string
	tr := &Transport{Source: prov, Resource: ts.URL, Scopes: []string{"a"}, StepUp: true,
		OnStepUp: func(s []string) { steps = append(steps, s) }}
	hc := &http.Client{Transport: tr}
	for range 2 {
		resp, err := hc.Do(postReplayable(ts.URL))
		if err != nil {
			t.Fatal(err)
		}
		httpreplay.Drain(resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200 after the step-up", resp.StatusCode)
		}
	}
	if n := forbidden.Load(); n != 1 {
		t.Errorf("%d 403s, want 1", n)
	}
	want := [][]string{{"a"}, {"a", "b"}, {"a", "b"}}
	if got := prov.requests(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("token requests for %v, want %v", got, want)
	}
	if len(steps) != 1 || !slices.Equal(steps[0], []string{"a", "b"}) {
		t.Errorf("OnStepUp calls %v, want one with [a b]", steps)
	}
}

// Without StepUp, or when the challenge names nothing new, the 403 is the
// answer and no second token is asked for.
func TestTransportNoStepUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stepUp bool
		need   []string
	}{
		{"option off", false, []string{"a", "b"}},
		{"nothing new to ask for", true, []string{"a", "zz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var forbidden atomic.Int32
			ts := scopeServer(t, tc.need, &forbidden)
			prov := &scopeProvider{}
			// The daemon reports zz as held (the server disagrees), so a
			// challenge for "a zz" adds nothing to ask for.
			tr := &Transport{Source: &fixedScopes{prov, []string{"a", "zz"}}, Resource: ts.URL, Scopes: []string{"a"}, StepUp: tc.stepUp}
			resp, err := (&http.Client{Transport: tr}).Do(postReplayable(ts.URL))
			if err != nil {
				t.Fatal(err)
			}
			httpreplay.Drain(resp)
			if resp.StatusCode != http.StatusForbidden || forbidden.Load() != 1 || len(prov.requests()) != 1 {
				t.Errorf("status %d, %d 403s, %d token requests; want the one 403", resp.StatusCode, forbidden.Load(), len(prov.requests()))
			}
		})
	}
}

// fixedScopes reports scopes as granted whatever was asked.
type fixedScopes struct {
	inner  TokenProvider
	scopes []string
}

func (f *fixedScopes) GetToken(ctx context.Context, r TokenRequest) (*Token, error) {
	tok, err := f.inner.GetToken(ctx, r)
	if err == nil {
		tok.Scopes = f.scopes
	}
	return tok, err
}

// MaxBody cuts a JSON answer off past the cap with ErrBodyTooLarge, and
// leaves an event stream and an answer within the cap alone.
func TestTransportMaxBody(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.URL.Query().Get("ct"))
		io.WriteString(w, strings.Repeat("x", 1000))
	}))
	defer ts.Close()
	hc := &http.Client{Transport: &Transport{Source: &fakeProvider{tokens: [2]string{"good", "good"}}, Resource: ts.URL, MaxBody: 999}}
	for _, tc := range []struct {
		ct      string
		max     int64
		tooLong bool
	}{{"application/json", 999, true}, {"application/json", 1000, false}, {"text/event-stream", 10, false}} {
		hc.Transport.(*Transport).MaxBody = tc.max
		resp, err := hc.Get(ts.URL + "?ct=" + tc.ct)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if tc.tooLong != errors.Is(err, ErrBodyTooLarge) || (!tc.tooLong && len(body) != 1000) {
			t.Errorf("%s with cap %d: %d bytes, err %v", tc.ct, tc.max, len(body), err)
		}
	}
}

// The forced refresh after a 401 carries the 401's challenge (Bearer or,
// for a DPoP-only server, DPoP), so the daemon can follow a server that
// moved to another authorization server; the first request carries none.
func TestTransportPassesChallengeOnRefresh(t *testing.T) {
	for _, header := range []string{
		`Bearer error="invalid_token", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="a b"`,
		`DPoP algs="ES256", error="invalid_token", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="a b"`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer good" {
				w.Header().Set("WWW-Authenticate", header)
				http.Error(w, "no", http.StatusUnauthorized)
			}
		}))
		src := &fakeProvider{tokens: [2]string{"old", "good"}}
		hc := &http.Client{Transport: &Transport{Source: src, Resource: srv.URL}}
		resp, err := hc.Get(srv.URL)
		srv.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", header, resp, err)
		}
		resp.Body.Close()
		want := Challenge{ResourceMetadata: "https://mcp.example/.well-known/oauth-protected-resource/mcp", Scope: "a b", Error: "invalid_token"}
		if len(src.reqs) != 2 || src.reqs[0].Challenge != nil || src.reqs[1].Challenge == nil || *src.reqs[1].Challenge != want {
			t.Errorf("%s: token requests %+v, want the refresh to carry %+v", header, src.reqs, want)
		}
	}
}
