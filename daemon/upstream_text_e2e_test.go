package daemon_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// An authorization server's error_description of 199 ASCII bytes and a
// euro sign used to be cut inside the euro sign: `xaactl status` and
// `server ls` then failed with "grpc: error while marshaling: string field
// contains invalid UTF-8". The real daemon must keep answering them.
func TestStatusSurvivesHostileErrorText(t *testing.T) {
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	env.TB.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Description: strings.Repeat("a", 199) + "€" + strings.Repeat("b", 5000)})
	ctx := context.Background()
	c, err := client.Dial(ctx, env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: env.TB.MCP.URL()}); err == nil {
		t.Fatal("the refused grant produced a token")
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	servers, err := c.ListServers(ctx)
	if err != nil {
		t.Fatalf("ListServers: %v", err)
	}
	for _, s := range append(st.GetServers(), servers...) {
		if e := s.GetLastError(); !utf8.ValidString(e) || !strings.Contains(e, "invalid_client") || len(e) > 1024 {
			t.Errorf("last error (%d bytes): %.200q", len(e), e)
		}
	}
}
