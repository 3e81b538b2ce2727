package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/xaad-dev/xaad/client"
)

// An MCP client gets an *http.Client whose requests carry tokens from the
// daemon, refreshed once automatically when the server answers 401.
func Example() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.DefaultSocketPath())
	if err != nil {
		log.Fatal(err) // says how to start the daemon
	}
	defer c.Close()

	const mcpURL = "https://mcp.tools.example/mcp"
	hc := &http.Client{Transport: &client.Transport{Source: c, Resource: mcpURL}}
	resp, err := hc.Get(mcpURL)
	switch {
	case client.IsLoginRequired(err):
		fmt.Println("run: xaactl login")
	case err != nil:
		log.Fatal(err)
	default:
		resp.Body.Close()
	}
}

// GetToken returns the token itself, for clients that build their own
// requests.
func ExampleClient_GetToken() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.DefaultSocketPath())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: "https://mcp.tools.example/mcp"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok) // prints metadata only; the secret is tok.AccessToken
}
