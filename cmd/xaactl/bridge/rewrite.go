package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	methodInitialize = "initialize"
	methodCancelled  = "notifications/cancelled"
	// protocolStateless is the first MCP version without the initialize
	// handshake's session and the standalone SSE stream (SEP-2575).
	protocolStateless = "2026-07-28"
	// EMAExtension is the extension capability the bridge announces for the
	// client (docs/protocol.md §2 step 0).
	EMAExtension = "io.modelcontextprotocol/enterprise-managed-authorization"
)

// addEMACapability returns params with the EMA extension among the client's
// capabilities, where the message carries them: initialize's capabilities,
// and the per-request _meta capabilities of protocol 2026-07-28. Settings a
// client already sent for the extension are kept. Params that do not parse
// are passed on unchanged, for the server to judge.
func addEMACapability(method string, params json.RawMessage) json.RawMessage {
	// Most messages carry no capabilities; skip parsing them (every
	// tools/call passes here).
	if len(params) == 0 || (method != methodInitialize && !bytes.Contains(params, []byte(mcp.MetaKeyClientCapabilities))) {
		return params
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil || p == nil {
		return params
	}
	changed := false
	if method == methodInitialize {
		changed = withExtension(p, "capabilities") || changed
	}
	if raw, ok := p["_meta"]; ok {
		var meta map[string]json.RawMessage
		if json.Unmarshal(raw, &meta) == nil && meta != nil && meta[mcp.MetaKeyClientCapabilities] != nil {
			if withExtension(meta, mcp.MetaKeyClientCapabilities) {
				p["_meta"] = mustMarshal(meta)
				changed = true
			}
		}
	}
	if !changed {
		return params
	}
	return mustMarshal(p)
}

// withExtension sets obj[key].extensions[EMAExtension] = {} unless present,
// and reports whether obj changed.
func withExtension(obj map[string]json.RawMessage, key string) bool {
	caps := map[string]json.RawMessage{}
	if raw, ok := obj[key]; ok && json.Unmarshal(raw, &caps) != nil {
		return false
	}
	if caps == nil { // "capabilities": null
		caps = map[string]json.RawMessage{}
	}
	ext := map[string]json.RawMessage{}
	if raw, ok := caps["extensions"]; ok && json.Unmarshal(raw, &ext) != nil {
		return false
	}
	if ext == nil {
		ext = map[string]json.RawMessage{}
	}
	if _, ok := ext[EMAExtension]; ok {
		return false
	}
	ext[EMAExtension] = json.RawMessage(`{}`)
	caps["extensions"] = mustMarshal(ext)
	obj[key] = mustMarshal(caps)
	return true
}

// mustMarshal marshals maps of raw JSON that came from json.Unmarshal, which
// cannot fail.
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bridge: re-encoding parsed JSON: %v", err))
	}
	return b
}

// cancelledRequest returns the request a notifications/cancelled names.
func cancelledRequest(req *jsonrpc.Request) (jsonrpc.ID, bool) {
	if req.Method != methodCancelled || req.IsCall() {
		return jsonrpc.ID{}, false
	}
	var p struct {
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(req.Params, &p) != nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(p.RequestID)
	return id, err == nil && id.IsValid()
}

// parseErrorLine is the JSON-RPC 2.0 §5.1 answer to input that is not a
// message: id null, code -32700 (or -32600 for JSON that is not JSON-RPC).
func parseErrorLine(err error) []byte {
	code := int64(jsonrpc.CodeInvalidRequest)
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
		code = jsonrpc.CodeParseError
	}
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": "xaactl proxy: " + ErrClientInput.Error() + ": " + err.Error()},
	})
	return append(b, '\n')
}

// initState remembers the client's initialize request and the protocol
// version its answer settled on.
type initState struct {
	mu      sync.Mutex
	id      jsonrpc.ID
	asked   bool
	version string
}

func (s *initState) setRequest(id jsonrpc.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == "" {
		s.id, s.asked = id, true
	}
}

// isResponse reports whether resp answers the first initialize.
func (s *initState) isResponse(resp *jsonrpc.Response) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked && s.version == "" && resp.ID == s.id
}

// setResult records the negotiated version and returns it ("" when the
// server refused to initialize).
func (s *initState) setResult(resp *jsonrpc.Response) string {
	if resp.Error != nil {
		return ""
	}
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if json.Unmarshal(resp.Result, &r) != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = r.ProtocolVersion
	return s.version
}

func (s *initState) protocolVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// lockedWriter serialises writes to the client's stdout, so the bridge's own
// error lines never interleave with the SDK's messages.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Close does not close the underlying writer: stdout belongs to the process.
func (l *lockedWriter) Close() error { return nil }

func (l *lockedWriter) writeRaw(line []byte) {
	l.Write(line)
}
