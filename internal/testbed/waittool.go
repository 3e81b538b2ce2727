package testbed

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addWaitTool adds "wait", which answers only when its request is
// cancelled and then reports it on [MCPServer.Cancelled]: a way for tests
// to see a client's cancellation arrive, whether by notifications/cancelled
// (up to 2025-11-25) or by the closing of the response stream (2026-07-28).
func (m *MCPServer) addWaitTool(srv *mcp.Server) {
	m.cancelled = make(chan struct{}, 16)
	m.waiting = make(chan struct{}, 16)
	srv.AddTool(&mcp.Tool{Name: "wait", Description: "Answers only when cancelled.", InputSchema: objectSchema(nil)},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case m.waiting <- struct{}{}:
			default:
			}
			<-ctx.Done()
			select {
			case m.cancelled <- struct{}{}:
			default:
			}
			return nil, ctx.Err()
		})
}

// Waiting receives once for each "wait" call the server has begun: a
// cancellation sent after it has a request to cancel. (A
// notifications/cancelled that overtakes its request is ignored, as the
// specification allows.)
func (m *MCPServer) Waiting() <-chan struct{} { return m.waiting }

// Cancelled receives once for each "wait" call that was cancelled.
func (m *MCPServer) Cancelled() <-chan struct{} { return m.cancelled }
