// Package bridge relays one MCP session between a local client speaking
// stdio and a remote Streamable HTTP MCP server, putting the xaad daemon's
// access tokens on every HTTP request. It is `xaactl proxy`.
//
// The relay works on raw JSON-RPC: each message is parsed strictly (wire.go)
// but relayed as the bytes it came as, so ids and methods pass byte for
// byte. The client's ids never reach the server: each request gets an id of
// the bridge's, and the answer goes back under the client's own, so no two
// client ids can merge on the way (a float64 would make 1.2 and 1.7 one).
// The bridge is its own Streamable HTTP client (post.go, stream.go) rather
// than the go-sdk's StreamableClientTransport, because that transport
// decodes ids, ends the whole session on a non-2xx answer without a
// JSON-RPC body, adds the MCP 2026-07-28 headers only for its own
// mcp.Client, and in v1.8.0 reads JSON answers and SSE events without a
// bound. It changes what it must:
//
//   - the client's initialize (and, under protocol 2026-07-28, the
//     per-request client capabilities in _meta) gains the extension
//     capability io.modelcontextprotocol/enterprise-managed-authorization
//     (docs/protocol.md §2 step 0);
//   - HTTP 401 and 403 insufficient_scope are answered here, by a forced
//     token refresh or a step-up to the union of scopes, each with one
//     retry (docs/protocol.md §4.3), so token rotation is invisible to the
//     client;
//   - SEP-2243's headers (Mcp-Method, Mcp-Name, Mcp-Param-*) are set from
//     the message and the tool schemas of the last tools/list, tools whose
//     x-mcp-header declarations are invalid are left out of tools/list, and
//     a HeaderMismatch gets one re-list and retry (headers.go, tools.go);
//   - cancellation follows the version: 2026-07-28 closes the request's
//     stream, older versions get notifications/cancelled;
//   - a session the server ended (404) is renewed with the client's own
//     initialize (renew.go), and the standalone SSE stream of versions that
//     have one is held open (stream.go).
//
// Nothing the server or the daemon does ends the session: a failure fails
// the request it hit, with a JSON-RPC error in xaactl's words (words.go),
// and every message is bounded (limits.go). Only the client ends it, by
// closing stdin.
package bridge
