package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// An HTTP error without a JSON-RPC body fails the one request it answers,
// with words for what happened; the session goes on. (Before, each of
// these ended the proxy, and the client saw only "connection closed".)
func TestProxyHTTPErrorsFailOneRequest(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, stderr := proxySession(t, env, "2025-11-25")
	openStandaloneStream(t, cs, rec)
	plain := func(status int, body string) testbed.Fault {
		return testbed.Fault{Status: status, Body: []byte(body), ContentType: "text/plain"}
	}
	for _, tc := range []struct {
		name   string
		faults []testbed.Fault
		want   []string
	}{
		{"401 after the retry", []testbed.Fault{
			{Status: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token", error_description="revoked"`}}},
			{Status: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token", error_description="revoked"`}}},
		}, []string{"HTTP 401", `"revoked"`, "xaactl status"}},
		{"403", []testbed.Fault{plain(http.StatusForbidden, "no access for you\n")}, []string{"HTTP 403", "no access for you"}},
		{"plain-text 400", []testbed.Fault{plain(http.StatusBadRequest, "bad request, sorry")}, []string{"HTTP 400", "bad request, sorry"}},
		{"503", []testbed.Fault{{Status: http.StatusServiceUnavailable}}, []string{"HTTP 503", "try again later"}},
		{"unknown content type", []testbed.Fault{{Body: []byte("<html>"), ContentType: "text/html"}}, []string{`"text/html"`}},
	} {
		for _, f := range tc.faults {
			env.TB.QueueFault(testbed.EndpointMCP, 1, f)
		}
		_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
		if err == nil {
			t.Errorf("%s: the call succeeded", tc.name)
			continue
		}
		for _, want := range append(tc.want, "xaactl proxy") {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, want)
			}
		}
		if got := callText(t, cs, "echo", map[string]any{"text": "next"}); got != "next" {
			t.Errorf("%s: echo after it = %q", tc.name, got)
		}
	}
	checkNoToken(t, stderr.String())
}

// The server ends the session (404 for the session's requests): the proxy
// starts a new one with the client's initialize and retries the request,
// so the client sees no error; later requests use the new session.
func TestProxyRenewsEndedSession(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, stderr := proxySession(t, env, "2025-11-25")
	var before testbed.SessionInfo
	callStructured(t, cs, "session", &before)
	openStandaloneStream(t, cs, rec)
	if status := deleteSession(t, env, before.ID); status != http.StatusNoContent && status != http.StatusOK {
		t.Fatalf("DELETE of the session: %d", status)
	}
	var after testbed.SessionInfo
	callStructured(t, cs, "session", &after)
	if after.ID == "" || after.ID == before.ID {
		t.Errorf("session %q after the server ended %q, want a new one", after.ID, before.ID)
	}
	// The new session has its standalone stream too.
	params := &mcp.CallToolParams{Name: "notify", Arguments: map[string]any{"text": "new"}}
	params.SetProgressToken("new")
	if _, err := cs.CallTool(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	got := []string{<-rec.progress, <-rec.progress}
	if !strings.Contains(strings.Join(got, ","), "new (standalone stream)") {
		t.Errorf("progress %q, want one on the new session's standalone stream", got)
	}
	cs.Close() // stderr is complete once the proxy has exited
	if !strings.Contains(stderr.String(), "started a new one") {
		t.Errorf("stderr does not report the renewal: %s", stderr.String())
	}
}

// deleteSession ends a session at the server, as a server restart or an
// idle timeout would.
func deleteSession(t *testing.T, env *testdaemon.Env, id string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, env.TB.MCP.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Mcp-Session-Id", id)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	return authorizedDo(t, env, req)
}

// An answer over the proxy's message limit fails that request, naming the
// limit and the flag that raises it.
func TestProxyOversizedAnswer(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	cs, rec, _ := proxySession(t, env, "2025-11-25", "--max-message", "100000")
	openStandaloneStream(t, cs, rec)
	env.TB.QueueFault(testbed.EndpointMCP, 1, testbed.Fault{OversizeBytes: 200000})
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
	if err == nil || !strings.Contains(err.Error(), "larger than 100000 bytes") || !strings.Contains(err.Error(), "--max-message") {
		t.Errorf("oversized answer: err = %v", err)
	}
	if got := callText(t, cs, "echo", map[string]any{"text": "next"}); got != "next" {
		t.Errorf("echo after it = %q", got)
	}
}
