package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
)

// tokens is a token provider that hands out "t<n>-<scopes>" and counts forced
// refreshes; the server under test accepts only the tokens it lists.
type tokens struct {
	mu     sync.Mutex
	n      int
	forced int
	asked  [][]string
	scopes []string // granted, when the request names none
}

func (p *tokens) GetToken(_ context.Context, r client.TokenRequest) (*client.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.ForceRefresh || p.n == 0 {
		p.n++
	}
	if r.ForceRefresh {
		p.forced++
	}
	p.asked = append(p.asked, r.Scopes)
	granted := r.Scopes
	if granted == nil {
		granted = p.scopes
	}
	tok := fmt.Sprintf("t%d-%s", p.n, strings.Join(granted, "+"))
	return &client.Token{AccessToken: tok, TokenType: "Bearer", Scopes: granted}, nil
}

// relayServer runs a go-sdk MCP server behind check, which may answer for
// it, and a bridge to it whose stdio a go-sdk client uses.
func relayServer(t *testing.T, p client.TokenProvider, scopes []string, check func(w http.ResponseWriter, r *http.Request) bool) *mcp.ClientSession {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	type in struct {
		Text string `json:"text"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(_ context.Context, _ *mcp.CallToolRequest, v in) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: v.Text}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check(w, r) {
			h.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)

	cin, bin := io.Pipe()   // client -> bridge
	bout, cout := io.Pipe() // bridge -> client
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{Endpoint: ts.URL, Tokens: p, Scopes: scopes, Stdin: cin, Stdout: cout})
		cout.Close()
	}()
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.IOTransport{Reader: bout, Writer: bin}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close() // closes bin: the bridge sees EOF
		if err := <-done; err != nil {
			t.Errorf("bridge: %v", err)
		}
	})
	return cs
}

func echo(t *testing.T, cs *mcp.ClientSession, text string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": text}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Content[0].(*mcp.TextContent).Text; got != text {
		t.Errorf("echo = %q", got)
	}
}

// A 401 with a stale token costs one forced refresh; the client sees
// nothing.
func TestBridgeRefreshesOn401(t *testing.T) {
	p := &tokens{}
	var mu sync.Mutex
	accept := "Bearer t1-"
	cs := relayServer(t, p, nil, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Authorization"), accept) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return false
		}
		return true
	})
	echo(t, cs, "one")
	mu.Lock()
	accept = "Bearer t2-" // t1 "expired"
	mu.Unlock()
	echo(t, cs, "two")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forced != 1 {
		t.Errorf("%d forced refreshes, want 1", p.forced)
	}
}

// A 403 insufficient_scope asks for the union of held and challenged
// scopes, retries once, and keeps asking for the union.
func TestBridgeStepsUpOn403(t *testing.T) {
	p := &tokens{}
	var mu sync.Mutex
	forbidden := 0
	cs := relayServer(t, p, []string{"a"}, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.Header.Get("Authorization"), "a+b") {
			return true
		}
		mu.Lock()
		forbidden++
		mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="b"`)
		http.Error(w, "more scopes", http.StatusForbidden)
		return false
	})
	echo(t, cs, "one")
	echo(t, cs, "two")
	mu.Lock()
	if forbidden != 1 {
		t.Errorf("%d 403s, want 1", forbidden)
	}
	mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.asked[len(p.asked)-1]
	if !slices.Equal(last, []string{"a", "b"}) {
		t.Errorf("asks for %v after the step-up, want [a b]", last)
	}
}

// A server that redirects to another origin is not followed: the other
// host never sees the request (nor a token), and the client learns why.
// A redirect within the endpoint's origin still works.
func TestBridgeRefusesCrossOriginRedirect(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("the other origin got Authorization %q", a)
		}
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer other.Close()
	var sameHits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusPermanentRedirect)
		case "/here":
			sameHits.Add(1)
			if r.Header.Get("Authorization") != "Bearer t1-" {
				t.Errorf("same-origin redirect target got Authorization %q", r.Header.Get("Authorization"))
			}
			io.WriteString(w, "ok")
		default:
			http.Redirect(w, r, other.URL+"/mcp", http.StatusTemporaryRedirect)
		}
	}))
	defer ts.Close()

	b := newBridge(Config{Endpoint: ts.URL + "/mcp", Tokens: &tokens{}, Stdin: strings.NewReader(""), Stdout: io.Discard})
	_, err := b.http.Post(ts.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), other.URL) || !strings.Contains(err.Error(), "another origin") {
		t.Errorf("cross-origin redirect: err = %v, want %v naming %s", err, ErrRedirectRefused, other.URL)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
	resp, err := b.http.Post(ts.URL+"/moved", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || sameHits.Load() != 1 {
		t.Errorf("same-origin redirect: status %d, %d hits", resp.StatusCode, sameHits.Load())
	}

	// Through a whole session: the client's initialize fails, saying why.
	cin, bin := io.Pipe()
	bout, cout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{Endpoint: ts.URL + "/mcp", Tokens: &tokens{}, Stdin: cin, Stdout: cout})
		cout.Close()
	}()
	c := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.IOTransport{Reader: bout, Writer: bin}, nil)
	if err == nil {
		cs.Close()
		t.Fatal("connect through a cross-origin redirect succeeded")
	}
	if !strings.Contains(err.Error(), "redirect refused") {
		t.Errorf("client error = %v, want it to say the redirect was refused", err)
	}
	bin.Close()
	<-done
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
}

func TestSameOriginRedirects(t *testing.T) {
	check := sameOriginRedirects("https://mcp.example/mcp")
	for _, tc := range []struct {
		to string
		ok bool
	}{
		{"https://mcp.example/elsewhere", true},
		{"https://mcp.example:443/mcp", true},
		{"http://mcp.example/mcp", false}, // downgrade
		{"https://mcp.example:8443/mcp", false},
		{"https://other.example/mcp", false},
	} {
		req, _ := http.NewRequest(http.MethodPost, tc.to, nil)
		via := []*http.Request{mustReq(t, "https://mcp.example/mcp")}
		if err := check(req, via); (err == nil) != tc.ok {
			t.Errorf("redirect to %s: %v, want ok=%v", tc.to, err, tc.ok)
		}
	}
	req := mustReq(t, "https://mcp.example/mcp")
	if err := check(req, make([]*http.Request, 10)); !errors.Is(err, ErrRedirectRefused) {
		t.Errorf("11th redirect: %v", err)
	}
}

func mustReq(t *testing.T, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
