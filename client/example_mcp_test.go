package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// A Go MCP client built on the go-sdk reaches an EMA-protected server with
// the daemon's tokens by giving the SDK's Streamable HTTP transport an
// *http.Client whose RoundTripper is a [client.Transport]. A 401 from the
// server makes it ask the daemon for a fresh token and retry once.
// Announce Enterprise-Managed Authorization (docs/protocol.md §2 step 0).
//
// Here a local testbed and a signed-in daemon stand in for the real ones;
// a program would use client.DefaultSocketPath() and the server's URL.
func Example_mcpClient() {
	env, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()
	socket, mcpURL := env.Socket, env.TB.MCP.URL()

	ctx := context.Background()
	c, err := client.Dial(ctx, socket)
	if err != nil {
		log.Fatal(err) // says how to start the daemon
	}
	defer c.Close()

	// Bound what the server can make the SDK hold: go-sdk v1.8.0 reads a
	// JSON answer whole and, unless MaxEventSize is set, an event too.
	transport := &mcp.StreamableClientTransport{
		Endpoint:     mcpURL,
		HTTPClient:   &http.Client{Transport: &client.Transport{Source: c, Resource: mcpURL, MaxBody: 8 << 20}},
		MaxEventSize: 8 << 20,
	}
	mc := mcp.NewClient(&mcp.Implementation{Name: "my-agent", Version: "1.0.0"}, &mcp.ClientOptions{
		Capabilities: &mcp.ClientCapabilities{Extensions: map[string]any{
			"io.modelcontextprotocol/enterprise-managed-authorization": map[string]any{},
		}},
	})
	session, err := mc.Connect(ctx, transport, nil)
	if client.IsLoginRequired(err) {
		log.Fatal("run: xaactl login")
	}
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output: hello
}
