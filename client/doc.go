// Package client is the Go client of the xaad daemon: it dials the daemon's
// Unix socket, asks for access tokens for MCP servers, and offers a
// [Transport] that puts those tokens on outgoing HTTP requests.
//
// A typical MCP client needs three lines:
//
//	c, err := client.Dial(ctx, client.DefaultSocketPath())
//	...
//	httpClient := &http.Client{Transport: &client.Transport{Source: c, Resource: mcpURL}}
//
// A [Client] survives a daemon restart: the next call reconnects, waiting
// for the daemon as long as the call's deadline allows (see [ReadyWait]).
// [New] makes a Client without waiting for the daemon, for programs that
// must start before it.
//
// Errors returned by the daemon are [*Error] values carrying the daemon's
// machine-readable reason; use [ReasonOf] or helpers such as
// [IsLoginRequired] to branch on them. A daemon that cannot be reached gives
// an [*UnreachableError] whose message says how to start it.
//
// This package imports only the generated API (proto/xaad/v1), gRPC and the
// standard library, never the daemon, broker or storage code: it is linked
// into xaactl and into third-party MCP clients.
//
// No function in this package puts token material in an error or in the
// String form of a value.
package client
