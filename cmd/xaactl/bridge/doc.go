// Package bridge relays one MCP session between a local client speaking
// stdio and a remote Streamable HTTP MCP server, putting the xaad daemon's
// access tokens on every HTTP request. It is `xaactl proxy`.
//
// Both sides are the go-sdk's own transports ([mcp.IOTransport] over the
// process's stdin and stdout, [mcp.StreamableClientTransport] to the
// server), and the relay works on whole JSON-RPC messages: requests,
// responses and notifications flow both ways unchanged, whoever sent them,
// so the bridge needs no knowledge of MCP methods. It changes two things:
//
//   - the client's initialize (and, under protocol 2026-07-28, the
//     per-request client capabilities in _meta) gains the extension
//     capability io.modelcontextprotocol/enterprise-managed-authorization
//     (docs/protocol.md §2 step 0);
//   - HTTP 401 and 403 insufficient_scope are answered here, by a forced
//     token refresh or a step-up to the union of scopes, each with one
//     retry (docs/protocol.md §4.3), so token rotation is invisible to the
//     client.
//
// # Caveats
//
// The go-sdk opens the standalone SSE stream (server-initiated messages
// outside any request) and sends Mcp-Protocol-Version only when its own
// mcp.Client drives the connection, through an unexported hook
// (go-sdk issue #657). The bridge therefore sets the header itself from the
// initialize result it relays and opens that stream itself ([listener]),
// with the same resumption rules as the SDK: Last-Event-ID, bounded
// retries, 405 meaning "no stream".
package bridge
