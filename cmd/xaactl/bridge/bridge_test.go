package bridge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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

func TestInsufficientScope(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource"`)
	got, ok := insufficientScope(h)
	if !ok || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %v %v", got, ok)
	}
	h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	if _, ok := insufficientScope(h); ok {
		t.Error("invalid_token taken for insufficient_scope")
	}
}
