package testbed

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// openPath serves the MCP server without OAuth, for clients that must
// work with servers that need no token.
const openPath = "/open/mcp"

// OpenURL returns the endpoint of the same MCP server without any token
// check and without protected-resource metadata, as a server that needs no
// authorization is published.
func (m *MCPServer) OpenURL() string { return m.base + openPath }

// strictHeaders checks what the go-sdk's server leaves unchecked in the
// SEP-2243 headers of a 2026-07-28 request (Streamable HTTP, "Value
// Encoding" and "Server Validation"): Mcp-Name and Mcp-Param-* values must
// be plain printable ASCII without surrounding whitespace, or the
// "=?base64?…?=" form of their UTF-8. It decodes Mcp-Name for the go-sdk,
// which compares the header with the body as it is (it decodes only
// Mcp-Param values). A violation is a 400 HeaderMismatch.
//
// It also records the request headers by Mcp-Method before anything else
// runs, for [MCPServer.LastHeaders].
func (m *MCPServer) strictHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if method := r.Header.Get("Mcp-Method"); method != "" {
			m.mu.Lock()
			if m.seen == nil {
				m.seen = map[string]http.Header{}
			}
			m.seen[method] = r.Header.Clone()
			m.mu.Unlock()
		}
		if r.Method != http.MethodPost || r.Header.Get("MCP-Protocol-Version") < "2026-07-28" {
			next.ServeHTTP(w, r)
			return
		}
		for k, vs := range r.Header {
			if k != "Mcp-Name" && !strings.HasPrefix(k, "Mcp-Param-") {
				continue
			}
			decoded, ok := decodeSEP2243(vs[0])
			if len(vs) != 1 || !ok {
				headerMismatch(w, "header "+k+" is neither plain printable ASCII nor the =?base64?...?= form")
				return
			}
			if k == "Mcp-Name" {
				r.Header.Set(k, decoded)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// LastHeaders returns the headers of the last request to either endpoint
// whose Mcp-Method header was method, as they arrived; nil if none. The
// record is made when the request arrives, so it is there by the time the
// client has the answer.
func (m *MCPServer) LastHeaders(method string) http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[method].Clone()
}

func decodeSEP2243(v string) (string, bool) {
	if enc, ok := strings.CutPrefix(v, "=?base64?"); ok {
		if enc, ok = strings.CutSuffix(enc, "?="); ok {
			b, err := base64.StdEncoding.DecodeString(enc)
			return string(b), err == nil
		}
	}
	if v != strings.TrimSpace(v) {
		return "", false
	}
	for i := range len(v) {
		if v[i] < 0x20 || v[i] > 0x7E {
			return "", false
		}
	}
	return v, true
}

func headerMismatch(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": -32020, "message": "Header mismatch: " + msg},
	})
}
