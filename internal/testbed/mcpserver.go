package testbed

import (
	"context"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCPServer is a Streamable HTTP MCP server (the go-sdk) at /mcp, guarded
// by a bearer-token check that accepts only the AS's access tokens for this
// resource, and serving RFC 9728 protected-resource metadata.
//
// Tools: "echo" ({text} -> the same text) and "whoami" (the access token's
// sub, client_id and scopes), and those of relaytools.go.
type MCPServer struct {
	tb   *Testbed
	base string

	mu        sync.Mutex
	tweaks    MCPTweaks
	srv       *mcp.Server
	cancelled chan struct{}
	waiting   chan struct{}
	seen      map[string]http.Header // by Mcp-Method; see LastHeaders
}

// MCPTweaks make the MCP server's metadata misbehave (docs/protocol.md §6 item 3).
// The zero value is correct behaviour.
type MCPTweaks struct {
	// PRMResource replaces resource in the protected-resource metadata.
	PRMResource string
	// PRMAuthorizationServers replaces authorization_servers; set it to an
	// empty non-nil slice to publish an empty list.
	PRMAuthorizationServers []string
	// SecondAS moves the server to the second authorization server
	// (Options.SecondAS): its metadata names that one, and only its
	// tokens are accepted, so tokens of the first answer 401.
	SecondAS bool
}

func newMCPServer(tb *Testbed, base string) *MCPServer {
	return &MCPServer{tb: tb, base: base}
}

// URL returns the MCP endpoint, which is also the RFC 9728 resource
// identifier, e.g. "http://127.0.0.1:41236/mcp".
func (m *MCPServer) URL() string { return m.base + "/mcp" }

// PRMURL returns the URL of the protected-resource metadata: the
// path-inserted one (RFC 9728 §3.1) unless only the root one is served.
func (m *MCPServer) PRMURL() string {
	if m.tb.opts.PRM == PRMRoot {
		return m.base + prmRoot
	}
	return m.base + prmRoot + "/mcp"
}

// SetTweaks replaces the MCP server's misbehaviour settings.
func (m *MCPServer) SetTweaks(t MCPTweaks) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tweaks = t
}

func (m *MCPServer) getTweaks() MCPTweaks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tweaks
}

const prmRoot = "/.well-known/oauth-protected-resource"

func (m *MCPServer) handler() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "xaad-testbed", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "Returns its text argument."}, echoTool)
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "Describes the caller's access token."}, whoamiTool)
	addRelayTools(srv)
	addHeaderTools(srv)
	m.addWaitTool(srv)
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, sdkHandlerOptions(m.tb.opts.MCPStateless))
	// The go-sdk puts auth.TokenInfo into tool requests only through its own
	// middleware. Our middleware has already verified the token with the
	// testbed clock, so the SDK's one just copies the result; its expiry
	// check would use the real clock, hence AllowMissingExpiration.
	sdkAuth := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		if ti, ok := ctx.Value(tokenInfoKey{}).(*auth.TokenInfo); ok {
			return ti, nil
		}
		return nil, auth.ErrInvalidToken
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})

	mux := http.NewServeMux()
	mux.Handle("/mcp", m.tb.endpoint(EndpointMCP, m.methodGate(m.requireToken(m.strictHeaders(sdkAuth(sdk))))))
	mux.Handle(openPath, m.tb.endpoint(EndpointOpenMCP, m.strictHeaders(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, sdkHandlerOptions(m.tb.opts.MCPStateless)))))
	prm := m.tb.endpoint(EndpointPRM, http.HandlerFunc(m.servePRM))
	if m.tb.opts.PRM != PRMRoot {
		mux.Handle(prmRoot+"/mcp", prm)
	}
	if m.tb.opts.PRM != PRMPath {
		mux.Handle(prmRoot, prm)
	}
	return mux
}

// servePRM serves RFC 9728 §2 metadata. resource is the MCP URL at both
// locations: MCP clients that fall back to the root document (MCP-AZ) expect
// the server's canonical URI there.
func (m *MCPServer) servePRM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tw := m.getTweaks()
	servers := []string{m.currentAS().Issuer()}
	if tw.PRMAuthorizationServers != nil {
		servers = tw.PRMAuthorizationServers
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"resource":                 firstNonEmpty(tw.PRMResource, m.URL()),
		"authorization_servers":    servers,
		"scopes_supported":         m.tb.opts.Scopes,
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "xaad testbed MCP server",
	})
}

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to return"`
}

func echoTool(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
}

// WhoAmI is the structured output of the "whoami" tool.
type WhoAmI struct {
	Subject  string   `json:"sub"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

func whoamiTool(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, WhoAmI, error) {
	ti := req.Extra.TokenInfo
	if ti == nil {
		// Unreachable behind requireToken; guards against a wiring mistake.
		return nil, WhoAmI{}, errNoToken
	}
	client, _ := ti.Extra["client_id"].(string)
	return nil, WhoAmI{Subject: ti.UserID, ClientID: client, Scopes: ti.Scopes}, nil
}
