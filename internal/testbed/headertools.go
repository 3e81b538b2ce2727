package testbed

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tools for testing MCP 2026-07-28's headers (SEP-2243) through a relay:
//
//   - "route" declares x-mcp-header on region (string, "Region"), count
//     (integer, "Count") and the nested opts.dry (boolean, "Dry"); note has
//     none. It returns the Mcp-Param-* headers it received, as sent.
//   - "grüße" has a name that is not header-safe, so its Mcp-Name must
//     take the base64 form; it returns "hallo".
//   - "bad_header" publishes an x-mcp-header under "items", which makes the
//     definition invalid: clients must leave it out of tools/list. (The
//     go-sdk refuses to register such a tool, so the declaration is added
//     after registration, as a server in another language would publish it.)
//   - "late" declares nothing until [MCPServer.DeclareLateHeader], which
//     adds x-mcp-header "Late" on its argument v; a client that listed the
//     tools before then sends no Mcp-Param-Late and is refused with
//     HeaderMismatch until it lists them again.
func addHeaderTools(srv *mcp.Server) {
	srv.AddTool(&mcp.Tool{Name: "route", Description: "Returns the Mcp-Param headers it received.", InputSchema: routeSchema()}, routeTool)
	srv.AddTool(&mcp.Tool{Name: "grüße", Description: "Says hallo.", InputSchema: objectSchema(nil)}, textTool("hallo"))
	bad := &mcp.Tool{Name: "bad_header", Description: "Has an invalid x-mcp-header.", InputSchema: objectSchema(map[string]any{
		"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	})}
	srv.AddTool(bad, textTool("must not be called"))
	bad.InputSchema.(map[string]any)["properties"].(map[string]any)["tags"].(map[string]any)["items"].(map[string]any)["x-mcp-header"] = "Tag"
	srv.AddTool(lateTool(false), textTool("late"))
}

func objectSchema(props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	return map[string]any{"type": "object", "properties": props}
}

func routeSchema() map[string]any {
	return objectSchema(map[string]any{
		"region": map[string]any{"type": "string", "x-mcp-header": "Region"},
		"count":  map[string]any{"type": "integer", "x-mcp-header": "Count"},
		"opts": map[string]any{"type": "object", "properties": map[string]any{
			"dry": map[string]any{"type": "boolean", "x-mcp-header": "Dry"},
		}},
		"note": map[string]any{"type": "string"},
	})
}

func lateTool(declared bool) *mcp.Tool {
	v := map[string]any{"type": "string"}
	if declared {
		v["x-mcp-header"] = "Late"
	}
	return &mcp.Tool{Name: "late", Description: "Declares x-mcp-header only after DeclareLateHeader.", InputSchema: objectSchema(map[string]any{"v": v})}
}

// DeclareLateHeader re-registers the "late" tool with x-mcp-header "Late"
// on its argument v, as a server that changed a tool's schema would.
func (m *MCPServer) DeclareLateHeader() {
	m.mu.Lock()
	srv := m.srv
	m.mu.Unlock()
	srv.AddTool(lateTool(true), textTool("late"))
}

func textTool(text string) mcp.ToolHandler {
	return func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
	}
}

// ParamHeaders is the structured output of the "route" tool: every
// Mcp-Param-* header of the request, by its name after the prefix
// (canonical form, e.g. "Region").
type ParamHeaders struct {
	Headers map[string]string `json:"headers"`
}

func routeTool(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	out := ParamHeaders{Headers: map[string]string{}}
	var h http.Header
	if req.Extra != nil {
		h = req.Extra.Header
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		if name, ok := strings.CutPrefix(k, "Mcp-Param-"); ok {
			out.Headers[name] = h.Get(k)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}, StructuredContent: out}, nil
}
