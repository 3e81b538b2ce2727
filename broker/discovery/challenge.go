package discovery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/internal/wwwauth"
)

// ProbeProtocolVersion is the MCP protocol version the unauthenticated
// probe declares.
const ProbeProtocolVersion = "2026-07-28"

// probeBody is the JSON-RPC request of the probe: server/discover, which
// every 2026-07-28 server implements (MCP versioning, "Protocol Version
// Negotiation") and which changes nothing on the server, with the
// per-request _meta that revision requires. A protected server answers 401
// before it reads the body; an older one refuses the method, harmlessly.
const probeBody = `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{` +
	`"io.modelcontextprotocol/protocolVersion":"` + ProbeProtocolVersion + `",` +
	`"io.modelcontextprotocol/clientInfo":{"name":"xaad","version":"1"},` +
	`"io.modelcontextprotocol/clientCapabilities":{}}}}`

// challenge calls the MCP server without a token and reads the RFC 9728
// §5.1 hints of its 401 answer. The call is a POST of an MCP request:
// servers of MCP 2026-07-28 no longer serve GET on the MCP endpoint and
// answer it with 405 (Streamable HTTP, "Backward Compatibility"), so a GET
// would lose the hints. Only when the POST itself is refused with 405 (an
// endpoint of the older HTTP+SSE transport) is a GET tried. A server that
// answers otherwise simply yields no hints; only an outage is reported.
func (c *Client) challenge(ctx context.Context, serverURL string) (metadataURL string, scopes []string, err error) {
	resp, err := c.probe(ctx, http.MethodPost, serverURL)
	if err == nil && resp.StatusCode == http.StatusMethodNotAllowed {
		resp, err = c.probe(ctx, http.MethodGet, serverURL)
	}
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return "", nil, nil
	}
	metadataURL, scopes = challengeHints(resp.Header.Values("WWW-Authenticate"))
	return metadataURL, scopes, nil
}

// probe sends one unauthenticated request and returns its answer with
// the body already closed: only the status and headers matter.
func (c *Client) probe(ctx context.Context, method, serverURL string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(probeBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, serverURL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if method == http.MethodPost {
		// The request metadata headers 2026-07-28 requires on every POST
		// (Streamable HTTP, "Request Metadata").
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("MCP-Protocol-Version", ProbeProtocolVersion)
		req.Header.Set("Mcp-Method", "server/discover")
	}
	hc := c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, serverURL, unwrapURLError(err))
	}
	resp.Body.Close()
	return resp, nil
}

// challengeHints reads resource_metadata and scope from the Bearer and
// DPoP challenges of a 401 (RFC 9728 §5.1 defines resource_metadata for
// any scheme; a server that takes only DPoP-bound tokens sends only a DPoP
// challenge, RFC 9449 §7.1). For each, the first challenge with a usable
// value wins: a resource_metadata that passes CheckURL, a scope of valid
// RFC 6749 §3.3 scope-tokens. Anything else is ignored, never half-used.
func challengeHints(lines []string) (metadataURL string, scopes []string) {
	for _, ch := range wwwauth.Parse(lines) {
		if ch.Scheme != "bearer" && ch.Scheme != "dpop" {
			continue
		}
		if rm := ch.Params["resource_metadata"]; metadataURL == "" && rm != "" {
			if _, err := httpx.CheckURL(rm); err == nil {
				metadataURL = rm
			}
		}
		if s, ok := ch.Params["scope"]; scopes == nil && ok {
			if f, valid := httpx.SplitScope(s); valid && len(f) > 0 {
				scopes = f
			}
		}
	}
	return metadataURL, scopes
}
