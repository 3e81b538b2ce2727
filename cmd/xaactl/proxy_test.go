package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/cmd/xaactl/bridge"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// A go-sdk client uses the built xaactl as its stdio server: a whole
// session with tools, server-initiated messages on both the request's
// stream and the standalone stream, the EMA capability announced, an
// injected 401 costing exactly one forced refresh, and stdin EOF ending
// the remote session.
func TestProxySession(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, stderr := proxySession(t, env, "2025-11-25")
	ctx := context.Background()

	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	for _, want := range []string{"echo", "notify", "session", "whoami"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools %v lack %q", names, want)
		}
	}
	if got := callText(t, cs, "echo", map[string]any{"text": "hello"}); got != "hello" {
		t.Errorf("echo = %q", got)
	}
	var info testbed.SessionInfo
	callStructured(t, cs, "session", &info)
	if info.ID == "" || !slices.Contains(info.Extensions, bridge.EMAExtension) {
		t.Errorf("session %+v: want an ID and the extension %s", info, bridge.EMAExtension)
	}

	// One progress notification rides on the call's own response stream,
	// the other on the standalone stream the proxy opened.
	params := &mcp.CallToolParams{Name: "notify", Arguments: map[string]any{"text": "hi"}}
	params.SetProgressToken("p1")
	if _, err := cs.CallTool(ctx, params); err != nil {
		t.Fatal(err)
	}
	got := []string{<-rec.progress, <-rec.progress}
	slices.Sort(got)
	if want := []string{"hi (request stream)", "hi (standalone stream)"}; !slices.Equal(got, want) {
		t.Errorf("progress messages %q, want %q", got, want)
	}

	// The standalone stream is open (a message came on it), so the
	// next request is the one the fault hits.
	grants := env.TB.JWTBearerGrants()
	env.TB.QueueFault(testbed.EndpointMCP, 1, testbed.Fault{Status: http.StatusUnauthorized})
	if got := callText(t, cs, "echo", map[string]any{"text": "after 401"}); got != "after 401" {
		t.Errorf("echo after 401 = %q", got)
	}
	if n := env.TB.JWTBearerGrants() - grants; n != 1 {
		t.Errorf("an injected 401 cost %d new tokens, want 1", n)
	}

	// stdin EOF: the proxy deletes the session and exits 0 on its own.
	if err := cs.Close(); err != nil {
		t.Fatalf("proxy exit: %v\nstderr:\n%s", err, stderr.String())
	}
	if status := postWithSession(t, env, info.ID); status != http.StatusNotFound {
		t.Errorf("the remote session answers %d after the proxy exited, want 404 (deleted)", status)
	}
}

// postWithSession sends a ping in session id with a valid token and
// returns the status.
func postWithSession(t *testing.T, env *testdaemon.Env, id string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.TB.MCP.URL(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", id)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	return authorizedDo(t, env, req)
}

// authorizedDo sends req with a token from env's daemon and returns the
// status.
func authorizedDo(t *testing.T, env *testdaemon.Env, req *http.Request) int {
	t.Helper()
	c, err := client.Dial(context.Background(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc := &http.Client{Transport: &client.Transport{Source: c, Resource: env.TB.MCP.URL()}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A go-sdk client with default options first tries the 2026-07-28
// server/discover handshake and falls back to initialize when the server
// declines, as this stateful server does; both go through the proxy. (The
// capability in 2026-07-28's per-request _meta is covered by the bridge's
// unit tests.)
func TestProxyDefaultClient(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, _, _ := proxySession(t, env, "")
	if got := callText(t, cs, "echo", map[string]any{"text": "hi"}); got != "hi" {
		t.Errorf("echo = %q", got)
	}
	var info testbed.SessionInfo
	callStructured(t, cs, "session", &info)
	if !slices.Contains(info.Extensions, bridge.EMAExtension) {
		t.Errorf("extensions %v lack %s", info.Extensions, bridge.EMAExtension)
	}
}

// Access tokens that expire mid-session are replaced without the client
// seeing an error: each expiry costs one new token.
func TestProxyTokenRotation(t *testing.T) {
	var offset atomic.Int64 // the testbed clock runs ahead of the real one
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := startEnv(t, testdaemon.Options{Testbed: testbed.Options{
		Now: now, AccessTokenLifetime: 5 * time.Minute, ClockSkew: -1,
	}})
	cs, _, _ := proxySession(t, env, "2025-11-25")
	callText(t, cs, "echo", map[string]any{"text": "first"})
	grants := env.TB.JWTBearerGrants()
	const rotations = 3
	for i := range rotations {
		offset.Add(int64(6 * time.Minute)) // the current token has expired
		if got := callText(t, cs, "echo", map[string]any{"text": "again"}); got != "again" {
			t.Fatalf("rotation %d: echo = %q", i, got)
		}
	}
	if n := env.TB.JWTBearerGrants() - grants; n != rotations {
		t.Errorf("%d new tokens for %d expiries", n, rotations)
	}
}

// A 403 insufficient_scope leads to a token with the union of the scopes
// held and those the server asked for, and the request succeeds.
func TestProxyScopeStepUp(t *testing.T) {
	env := startEnv(t, testdaemon.Options{Testbed: testbed.Options{
		RequiredScopes: []string{"tools.read", "tools.call"},
	}})
	cs, _, stderr := proxySession(t, env, "2025-11-25", "--scope", "tools.read")
	var who testbed.WhoAmI
	callStructured(t, cs, "whoami", &who)
	slices.Sort(who.Scopes)
	if !slices.Equal(who.Scopes, []string{"tools.call", "tools.read"}) {
		t.Errorf("token scopes %v, want the union tools.call tools.read", who.Scopes)
	}
	// One token for tools.read, one for the union; one step-up.
	if n := env.TB.JWTBearerGrants(); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
	cs.Close() // stderr is complete once the proxy has exited
	if n := strings.Count(stderr.String(), "wants more scopes"); n != 1 {
		t.Errorf("%d step-ups reported on stderr, want 1: %s", n, stderr.String())
	}
}

// Garbage from the server fails the request it answers with a JSON-RPC
// error from the proxy; the session goes on.
func TestProxyServerGarbage(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, _ := proxySession(t, env, "2025-11-25")
	openStandaloneStream(t, cs, rec)
	env.TB.QueueFault(testbed.EndpointMCP, 1, testbed.Fault{Body: []byte("{not json")})
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), "xaactl proxy") || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("call answered with garbage: err = %v, want a JSON-RPC error from the proxy", err)
	}
	if got := callText(t, cs, "echo", map[string]any{"text": "still here"}); got != "still here" {
		t.Errorf("echo after garbage = %q", got)
	}
}

// openStandaloneStream returns once the proxy's standalone stream is open
// (a message came on it), so the next request is the one a queued fault
// hits.
func openStandaloneStream(t *testing.T, cs *mcp.ClientSession, rec *received) {
	t.Helper()
	params := &mcp.CallToolParams{Name: "notify", Arguments: map[string]any{"text": "open"}}
	params.SetProgressToken("open")
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	<-rec.progress
	<-rec.progress
}

// A server that never answers: the client gives up (here after a short
// deadline, as clients' request timeouts do), its cancellation goes through
// and releases the request, and the session keeps working.
func TestProxyServerHangs(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, _, _ := proxySession(t, env, "2025-11-25")
	callText(t, cs, "echo", map[string]any{"text": "ok"})
	env.TB.QueueFault(testbed.EndpointMCP, 1, testbed.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "lost"}}); err == nil {
		t.Error("a call to a hung server returned no error")
	}
	// Should the call not have reached the server in time on a loaded
	// machine, the fault must not catch the next one instead.
	env.TB.ClearFaults()
	if got := callText(t, cs, "echo", map[string]any{"text": "still here"}); got != "still here" {
		t.Errorf("echo after a hang = %q", got)
	}
}

// Malformed input from the client gets a JSON-RPC error on stdout (id
// null when none can be read, the request's id otherwise) and a message on
// stderr; the session goes on, and stdin EOF ends it with exit code 0.
func TestProxyMalformedClientInput(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	p := startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
	if r, line := p.call(t, "1", "initialize", initParams("2025-11-25")); r["result"] == nil {
		t.Fatalf("initialize answer %s", line)
	}
	for _, tc := range []struct {
		line, id string
		code     int
	}{
		{"this is not json", "null", -32700},
		{`{"jsonrpc":"2.0","id":7,"method":""}`, "7", -32600},
		{`{"jsonrpc":"2.0","id":8,"METHOD":"ping"}`, "8", -32600},
		{`[{"jsonrpc":"2.0","id":9,"method":"ping"}]`, "null", -32600},
		{`{"jsonrpc":"2.0","id":10,"method":"ping"} trailing`, "null", -32700},
		{`{"jsonrpc":"1.0","id":11,"method":"ping"}`, "11", -32600},
		{`{"jsonrpc":"2.0","id":null,"method":"ping"}`, "null", -32600},
	} {
		p.send(t, tc.line)
		r, line := p.next(t)
		if string(r["id"]) != tc.id || r.errorCode() != tc.code || !strings.Contains(r.errorMessage(), "xaactl proxy") {
			t.Errorf("answer to %s: %s, want a %d error with id %s", tc.line, line, tc.code, tc.id)
		}
	}
	if r, line := p.call(t, "2", "ping", "{}"); r["result"] == nil {
		t.Errorf("ping after malformed input: %s", line)
	}
	if code := p.exit(t); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "malformed JSON-RPC") {
		t.Errorf("stderr = %s", p.stderr.String())
	}
}

// Signed out when the client starts: the proxy answers initialize with a
// JSON-RPC error in xaactl's words naming the fix, keeps running, and
// serves the next initialize once the user has signed in.
func TestProxyNotSignedIn(t *testing.T) {
	env := startEnv(t, testdaemon.Options{NoLogin: true})
	p := startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
	r, line := p.call(t, "1", "initialize", initParams("2025-11-25"))
	if r["error"] == nil {
		t.Fatalf("initialize while signed out answered %s", line)
	}
	mustContain(t, "error", r.errorMessage(), "xaactl proxy", "not signed in", "xaactl login")
	mustContain(t, "error data", string(r["error"]), `"reason":"LOGIN_REQUIRED"`)
	if err := env.Login(); err != nil {
		t.Fatal(err)
	}
	if r, line := p.call(t, "2", "initialize", initParams("2025-11-25")); r["result"] == nil {
		t.Fatalf("initialize after signing in answered %s", line)
	}
	p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	r, line = p.call(t, "3", "tools/call", `{"name":"echo","arguments":{"text":"signed in"}}`)
	mustContain(t, "echo answer", line, "signed in")
	if r["result"] == nil {
		t.Errorf("echo: %s", line)
	}
}
