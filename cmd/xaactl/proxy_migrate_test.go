package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// secondAS is the client registration at the testbed's second
// authorization server.
var secondAS = testbed.Client{ID: "mcp-client-2", Secret: "second-secret"}

// secretFile writes a 0600 secret file for the daemon's configuration.
func secretFile(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// migrationEnv is a signed-in daemon for a testbed with a second
// authorization server, configured with extra (given the testbed).
func migrationEnv(t *testing.T, extra func(tb *testbed.Testbed) string) *testdaemon.Env {
	return startEnv(t, testdaemon.Options{Testbed: testbed.Options{SecondAS: &secondAS}, ExtraConfig: extra})
}

// tokenCalls is how many requests each authorization server's token
// endpoint has seen.
func tokenCalls(tb *testbed.Testbed) (first, second int) {
	c := tb.Counters()
	return c.Requests[testbed.EndpointASToken], c.Requests[testbed.EndpointAS2Token]
}

// The MCP server moves to another authorization server mid-session (its
// metadata names the new one, and it answers the old one's tokens with
// 401). The proxy's forced refresh carries the 401's challenge to the
// daemon, which reads the metadata again, drops the old tokens and gets one
// from the new issuer with the credentials registered there: the client
// sees no error, the server one 401, and the old issuer nothing more.
func TestProxyFollowsAuthorizationServerMigration(t *testing.T) {
	env := migrationEnv(t, func(tb *testbed.Testbed) string {
		return fmt.Sprintf("[[authorization_server]]\nissuer = %q\nclient_id = %q\nclient_secret_file = %q\n",
			tb.AS2.Issuer(), secondAS.ID, secretFile(t, secondAS.Secret))
	})
	cs, _, stderr := proxySession(t, env, "2025-11-25")
	if got := callText(t, cs, "echo", map[string]any{"text": "before"}); got != "before" {
		t.Fatalf("echo before the move = %q", got)
	}
	first, second := tokenCalls(env.TB)
	if first != 1 || second != 0 {
		t.Fatalf("token requests before the move: %d at the first AS, %d at the second; want 1 and 0", first, second)
	}
	refusals := env.TB.Counters().Errors[testbed.EndpointMCP]

	env.TB.MCP.SetTweaks(testbed.MCPTweaks{SecondAS: true})
	for _, text := range []string{"after", "again"} {
		if got := callText(t, cs, "echo", map[string]any{"text": text}); got != text {
			t.Fatalf("echo %q after the move = %q\nstderr:\n%s", text, got, stderr.String())
		}
	}
	if n := env.TB.Counters().Errors[testbed.EndpointMCP] - refusals; n != 1 {
		t.Errorf("the MCP server refused %d requests after the move, want the one 401 that revealed it", n)
	}
	if f, s := tokenCalls(env.TB); f != first || s != 1 {
		t.Errorf("token requests after the move: %d more at the old AS, %d at the new one; want 0 and 1", f-first, s)
	}
	if rec, _ := env.TB.LastRequest(testbed.EndpointAS2Token); rec.ClientID != secondAS.ID {
		t.Errorf("the new AS authenticated %q, want the client registered there (%s)", rec.ClientID, secondAS.ID)
	}
	c, err := client.Dial(context.Background(), env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.GetToken(context.Background(), client.TokenRequest{Resource: env.TB.MCP.URL()})
	if err != nil || tok.AuthorizationServer != env.TB.AS2.Issuer() {
		t.Errorf("the daemon's token after the move: %v, %v; want one of %s", tok, err, env.TB.AS2.Issuer())
	}
}

// A [default_client] holding a secret is presented only at the issuers it
// names. When the server moves to an authorization server that is neither
// configured nor named there, the call fails with words naming the fix,
// and that server receives no token request at all.
func TestProxyMigrationKeepsDefaultClientSecretHome(t *testing.T) {
	env := migrationEnv(t, func(tb *testbed.Testbed) string {
		return fmt.Sprintf("[default_client]\nclient_id = %q\nclient_secret_file = %q\nissuers = [\"https://auth.elsewhere.example/\"]\n",
			secondAS.ID, secretFile(t, secondAS.Secret))
	})
	cs, _, _ := proxySession(t, env, "2025-11-25")
	callText(t, cs, "echo", map[string]any{"text": "before"})
	env.TB.MCP.SetTweaks(testbed.MCPTweaks{SecondAS: true})
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "after"}})
	if err == nil {
		t.Fatal("the call after the move to an unlisted AS succeeded")
	}
	mustContain(t, "error", err.Error(), env.TB.AS2.Issuer(), "[default_client] issuers", "[[authorization_server]]")
	if _, s := tokenCalls(env.TB); s != 0 {
		t.Errorf("the unlisted AS received %d token requests, want none", s)
	}
	if n := env.TB.Counters().Requests[testbed.EndpointAS2Metadata]; n == 0 {
		t.Error("the daemon did not read the new AS's metadata: it never learnt of the move")
	}
}
