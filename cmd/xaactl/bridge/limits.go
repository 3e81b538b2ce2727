package bridge

import "time"

// The bridge's bounds. Whatever the MCP server sends, the proxy's memory
// stays within a small multiple of DefaultMaxMessage per request in
// flight: a message over the cap fails that request with a JSON-RPC error
// and the session goes on.
const (
	// DefaultMaxMessage caps one JSON-RPC message: a JSON response body,
	// one server-sent event, one line from the client. Config.MaxMessage
	// (xaactl proxy --max-message) changes it.
	DefaultMaxMessage = 4 << 20
	// maxErrorBody caps what is read of an HTTP error answer, which is
	// only looked at for a JSON-RPC error or a line of text to show.
	maxErrorBody = 64 << 10
	// maxInFlight caps the client's requests waiting for an answer.
	maxInFlight = 256
	// maxTools caps the tools whose x-mcp-header declarations are kept.
	maxTools = 4096
	// maxSchemaDepth caps how deep a tool's inputSchema is walked.
	maxSchemaDepth = 64
	// maxRelistPages caps the tools/list pages read to find a tool again
	// after a header mismatch.
	maxRelistPages = 16
	// sessionEndTimeout bounds the DELETE that ends a session, as the
	// go-sdk bounds it: a server that never answers cannot hold the exit.
	sessionEndTimeout = 5 * time.Second
)

// SSE reconnection (MCP Streamable HTTP 2025-11-25, "Resumability and
// Redelivery"), with the go-sdk's settings: five attempts without progress,
// starting at one second, growing by half, capped; a server's "retry"
// field replaces the delay.
const (
	sseMaxRetries   = 5
	sseInitialDelay = time.Second
	sseMaxDelay     = 30 * time.Second
)
