package testbed

import (
	"context"
	"maps"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tools for testing relays such as `xaactl proxy`: messages the server sends
// on its own, and the session a request belongs to.
//
//   - "notify" ({text}) sends two progress notifications for the call's
//     progress token: one on the request's own stream, with the message
//     "<text> (request stream)", and one on the session's standalone stream,
//     "<text> (standalone stream)", which only a client that opened that
//     stream (an HTTP GET) receives. Without a progress token it sends none.
//   - "session" returns the MCP session ID, so a test can check afterwards
//     that the session was ended, and the extensions the client announced.
//
// The standalone stream has an event store behind it ([sdkHandlerOptions]),
// so a message sent before the client's GET arrives is replayed to it
// rather than lost, and tests need not wait for the stream to open.
func addRelayTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "notify", Description: "Sends progress notifications on the request's stream and on the standalone stream, then answers."}, notifyTool)
	mcp.AddTool(srv, &mcp.Tool{Name: "session", Description: "Returns the MCP session ID."}, sessionTool)
}

// sdkHandlerOptions are the go-sdk Streamable HTTP options of the MCP
// server: an event store, for stream resumption (Last-Event-ID) and so
// server-initiated messages wait for the client's standalone stream; or,
// stateless, MCP 2026-07-28's shape, which has neither.
func sdkHandlerOptions(stateless bool) *mcp.StreamableHTTPOptions {
	if stateless {
		// 2026-07-28: closing the response stream cancels the request
		// (Streamable HTTP, "Cancellation").
		return &mcp.StreamableHTTPOptions{Stateless: true, PropagateRequestCancellation: true}
	}
	return &mcp.StreamableHTTPOptions{EventStore: mcp.NewMemoryEventStore(nil)}
}

type notifyIn struct {
	Text string `json:"text" jsonschema:"the text of the progress messages"`
}

func notifyTool(ctx context.Context, req *mcp.CallToolRequest, in notifyIn) (*mcp.CallToolResult, any, error) {
	tok := req.Params.GetProgressToken()
	if tok == nil {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "no progress token"}}}, nil, nil
	}
	// The request's context relates the message to the request: it travels
	// on the POST's response stream. A context without it sends the message
	// on the standalone stream, as a server's spontaneous messages travel.
	for _, n := range []struct {
		ctx   context.Context
		where string
	}{{ctx, "request"}, {context.Background(), "standalone"}} {
		p := &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Total: 1, Message: in.Text + " (" + n.where + " stream)"}
		if err := req.Session.NotifyProgress(n.ctx, p); err != nil {
			return nil, nil, err
		}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sent"}}}, nil, nil
}

// SessionInfo is the structured output of the "session" tool.
type SessionInfo struct {
	// ID is the Mcp-Session-Id; empty for sessionless protocol versions.
	ID string `json:"id"`
	// Extensions are the names under the client's capabilities.extensions.
	Extensions []string `json:"extensions"`
}

func sessionTool(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, SessionInfo, error) {
	info := SessionInfo{ID: req.Session.ID(), Extensions: []string{}}
	if p := req.Session.InitializeParams(); p != nil && p.Capabilities != nil {
		info.Extensions = slices.Sorted(maps.Keys(p.Capabilities.Extensions))
	}
	return nil, info, nil
}
