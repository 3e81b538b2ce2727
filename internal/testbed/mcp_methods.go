package testbed

import "net/http"

// methodGate answers GET and DELETE on the MCP endpoint with 405 Method
// Not Allowed, before any token check, when Options.MCPRefusesGET is set:
// MCP 2026-07-28 removed the GET stream and the session DELETE, and a
// server of only that revision answers both with 405 (Streamable HTTP,
// "Backward Compatibility"). A client that probes with GET for the 401
// challenge then gets no resource_metadata or scope hint.
func (m *MCPServer) methodGate(next http.Handler) http.Handler {
	if !m.tb.opts.MCPRefusesGET {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodDelete {
			w.Header().Set("Allow", "POST")
			http.Error(w, "this MCP endpoint serves POST only (MCP 2026-07-28)", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}
