package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

func start2026(t *testing.T) (*testdaemon.Env, *rawProxy) {
	t.Helper()
	env := startEnv(t, testdaemon.Options{Testbed: testbed.Options{MCPStateless: true}})
	return env, startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
}

// A relayed tools/list leaves out the tool whose x-mcp-header declaration
// is invalid, keeps the others, and says why on stderr (SEP-2243).
func TestProxy2026InvalidToolLeftOut(t *testing.T) {
	_, p := start2026(t)
	r, line := p.call(t, "1", "tools/list", params2026(""))
	var res struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(r["result"], &res); err != nil {
		t.Fatalf("tools/list answer %s: %v", line, err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	got := strings.Join(names, " ")
	if strings.Contains(got, "bad_header") || !strings.Contains(got, "route") || !strings.Contains(got, "echo") {
		t.Errorf("relayed tools %q: want route and echo, not bad_header", got)
	}
	p.exit(t) // stderr is complete once the proxy has exited
	mustContain(t, "stderr", p.stderr.String(), "bad_header", "tags.items")
}

// A relayed tools/call carries Mcp-Method, Mcp-Name and the Mcp-Param
// headers its tool declares, values encoded as SEP-2243 says; without them
// the server refuses the call (HeaderMismatch), as go-sdk's transport
// would have had it sent.
func TestProxy2026ParamHeaders(t *testing.T) {
	env, p := start2026(t)
	p.call(t, "1", "tools/list", params2026(""))
	r, line := p.call(t, "2", "tools/call", params2026(`"name":"route","arguments":{"region":"Zürich","count":7,"opts":{"dry":false},"note":"not mirrored"}`))
	var res struct {
		StructuredContent testbed.ParamHeaders `json:"structuredContent"`
	}
	if err := json.Unmarshal(r["result"], &res); err != nil || r["error"] != nil {
		t.Fatalf("route answer %s: %v", line, err)
	}
	want := map[string]string{"Region": "=?base64?WsO8cmljaA==?=", "Count": "7", "Dry": "false"}
	got := res.StructuredContent.Headers
	if len(got) != len(want) {
		t.Errorf("Mcp-Param headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Mcp-Param-%s = %q, want %q", k, got[k], v)
		}
	}
	h := env.TB.MCP.LastHeaders("tools/call")
	if h.Get("Mcp-Name") != "route" || h.Get("Mcp-Protocol-Version") != "2026-07-28" {
		t.Errorf("standard headers Mcp-Name %q, MCP-Protocol-Version %q", h.Get("Mcp-Name"), h.Get("Mcp-Protocol-Version"))
	}
	// An absent or null argument gets no header.
	r, line = p.call(t, "3", "tools/call", params2026(`"name":"route","arguments":{"region":"eu","count":null}`))
	var one struct {
		StructuredContent testbed.ParamHeaders `json:"structuredContent"`
	}
	if err := json.Unmarshal(r["result"], &one); err != nil || len(one.StructuredContent.Headers) != 1 {
		t.Errorf("route with one argument: %s", line)
	}
}

// A tool name that is not header-safe travels in Mcp-Name's base64 form.
func TestProxy2026NameBase64(t *testing.T) {
	env, p := start2026(t)
	r, line := p.call(t, "1", "tools/call", params2026(`"name":"grüße","arguments":{}`))
	mustContain(t, "answer", line, "hallo")
	if r["error"] != nil {
		t.Fatalf("call of grüße: %s", line)
	}
	if got := env.TB.MCP.LastHeaders("tools/call").Get("Mcp-Name"); got != "=?base64?Z3LDvMOfZQ==?=" {
		t.Errorf("Mcp-Name %q, want the base64 form of grüße", got)
	}
}

// The server changes a tool's declarations after the client listed the
// tools: its HeaderMismatch makes the proxy list again and retry once,
// and the client sees the call succeed.
func TestProxy2026RelistOnHeaderMismatch(t *testing.T) {
	env, p := start2026(t)
	p.call(t, "1", "tools/list", params2026(""))
	env.TB.MCP.DeclareLateHeader()
	r, line := p.call(t, "2", "tools/call", params2026(`"name":"late","arguments":{"v":"now"}`))
	if r["error"] != nil || !strings.Contains(line, `"late"`) {
		t.Fatalf("call after the declaration changed: %s", line)
	}
	if got := env.TB.MCP.LastHeaders("tools/call").Get("Mcp-Param-Late"); got != "now" {
		t.Errorf("the retry carried Mcp-Param-Late %q, want now", got)
	}
}

// Cancellation on 2026-07-28 closes the request's stream and sends no
// notifications/cancelled; on 2025-11-25 the notification goes, naming the
// request by the id the server knows.
func TestProxyCancellation(t *testing.T) {
	t.Run("2026-07-28", func(t *testing.T) {
		env, p := start2026(t)
		p.call(t, "0", "tools/list", params2026("")) // the daemon's discovery is done
		before := env.TB.Requests(testbed.EndpointMCP)
		p.send(t, `{"jsonrpc":"2.0","id":"w","method":"tools/call","params":`+params2026(`"name":"wait","arguments":{}`)+`}`)
		p.call(t, "1", "tools/list", params2026(""))
		<-env.TB.MCP.Waiting()
		p.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w","reason":"test"}}`)
		<-env.TB.MCP.Cancelled()
		p.call(t, "2", "tools/list", params2026(""))
		if n := env.TB.Requests(testbed.EndpointMCP) - before; n != 3 {
			t.Errorf("%d requests reached the server, want 3 (wait and two lists, no notifications/cancelled)", n)
		}
	})
	t.Run("2025-11-25", func(t *testing.T) {
		env := startEnv(t, testdaemon.Options{})
		p := startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
		p.call(t, "0", "initialize", initParams("2025-11-25"))
		p.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		p.send(t, `{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"wait","arguments":{}}}`)
		p.call(t, "1", "ping", "{}")
		<-env.TB.MCP.Waiting() // a cancellation that overtook its request would be ignored
		p.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1.5}}`)
		<-env.TB.MCP.Cancelled() // the go-sdk server cancels only on the notification
		if r, line := p.call(t, "2", "ping", "{}"); r["result"] == nil {
			t.Errorf("ping after the cancellation: %s", line)
		}
	})
}

// Ids come back byte for byte, however the client writes them, and ids
// that differ only after the decimal point stay apart.
func TestProxyIDsByteForByte(t *testing.T) {
	_, p := start2026(t)
	for _, id := range []string{`1.2`, `1.7`, `12345678901234567890123`, `-0`, `1e3`, `"\u0061"`, `"a"`, `"☃"`} {
		r, line := p.call(t, id, "tools/list", params2026(""))
		if r["result"] == nil || !strings.Contains(line, `"id":`+id+`,`) {
			t.Errorf("tools/list with id %s answered %s", id, line)
		}
	}
	// Two in flight at once whose ids a float64 would merge.
	p.send(t, `{"jsonrpc":"2.0","id":1.2,"method":"tools/call","params":`+params2026(`"name":"echo","arguments":{"text":"one"}`)+`}`)
	p.send(t, `{"jsonrpc":"2.0","id":1.7,"method":"tools/call","params":`+params2026(`"name":"echo","arguments":{"text":"two"}`)+`}`)
	seen := map[string]string{}
	for range 2 {
		r, line := p.next(t)
		seen[string(r["id"])] = line
	}
	if !strings.Contains(seen["1.2"], "one") || !strings.Contains(seen["1.7"], "two") {
		t.Errorf("answers %v, want 1.2 with one and 1.7 with two", seen)
	}
}

// A server that needs no token works through the proxy: the daemon finds
// no OAuth metadata, and the requests go without a token.
func TestProxyServerWithoutOAuth(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs := sessionFor(t, env, env.TB.MCP.OpenURL())
	if got := callText(t, cs, "echo", map[string]any{"text": "open"}); got != "open" {
		t.Errorf("echo = %q", got)
	}
	rec, _ := env.TB.LastRequest(testbed.EndpointOpenMCP)
	if a := rec.Header.Get("Authorization"); a != "" {
		t.Errorf("the server without OAuth got Authorization %q", a)
	}
}

// Signed out, a server that needs no token still works through the proxy:
// the daemon reports the missing OAuth metadata rather than the missing
// sign-in, and the requests go without a token. (The conformance runs of
// the transport scenarios rely on this.) A protected server still gets the
// sign-in error, and nothing without a token.
func TestProxyServerWithoutOAuthSignedOut(t *testing.T) {
	env := startEnv(t, testdaemon.Options{NoLogin: true})
	cs := sessionFor(t, env, env.TB.MCP.OpenURL())
	if got := callText(t, cs, "echo", map[string]any{"text": "open"}); got != "open" {
		t.Errorf("echo = %q", got)
	}
	rec, _ := env.TB.LastRequest(testbed.EndpointOpenMCP)
	if a := rec.Header.Get("Authorization"); a != "" {
		t.Errorf("the server without OAuth got Authorization %q", a)
	}
	p := startRaw(t, xaactlBinary(t), env.Socket, env.TB.MCP.URL())
	r, line := p.call(t, "1", "initialize", initParams("2025-11-25"))
	if r["error"] == nil {
		t.Fatalf("initialize of a protected server while signed out answered %s", line)
	}
	mustContain(t, "error", r.errorMessage(), "not signed in", "xaactl login")
	if n := env.TB.Requests(testbed.EndpointMCP); n != 1 {
		t.Errorf("%d requests reached the protected server, want only discovery's probe", n)
	}
}
