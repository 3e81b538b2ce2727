package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// MCP 2026-07-28 (SEP-2243, Streamable HTTP "Request Metadata") mirrors
// parts of the body into headers for intermediaries; a conforming server
// rejects a request whose headers are missing or disagree with the body
// (400, HeaderMismatch). The go-sdk adds these headers only to requests its
// own mcp.Client makes (it finds the tool's schema through an unexported
// context key), never to a relayed message, and it sends Mcp-Name raw even
// where the value needs the base64 form; so the bridge sets them itself.
//
// The bridge sends them for every protocol version: servers of earlier
// versions ignore unknown headers, and an initialize, which comes before
// any version is settled, needs Mcp-Method too.

const (
	base64Prefix      = "=?base64?"
	base64Suffix      = "?="
	paramHeaderPrefix = "Mcp-Param-"
)

// standardHeaders sets Mcp-Method for every request and notification,
// Mcp-Name for tools/call, prompts/get (params.name) and resources/read
// (params.uri), and Mcp-Param-{Name} for each argument of a tools/call
// that the tool's last tools/list declares with x-mcp-header.
func (b *bridge) standardHeaders(h http.Header, m *msg) {
	if m.method == nil {
		return // a response carries no method
	}
	if headerSafe(m.name) {
		h.Set("Mcp-Method", m.name)
	}
	var nameField string
	switch m.name {
	case methodToolsCall, "prompts/get":
		nameField = "name"
	case "resources/read":
		nameField = "uri"
	default:
		return
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(m.params, &p) != nil {
		return
	}
	var name string
	if json.Unmarshal(p[nameField], &name) != nil {
		return
	}
	h.Set("Mcp-Name", encodeHeaderValue(name))
	if m.name == methodToolsCall {
		for header, value := range b.tools.headers(name, p["arguments"]) {
			h.Set(paramHeaderPrefix+header, value)
		}
	}
}

// headerSafe reports whether s can be a header value as it is: no control
// characters, nothing outside ASCII (RFC 9110 §5.5 field values).
func headerSafe(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// encodeHeaderValue applies SEP-2243's "Value Encoding": the value as it
// is when it is printable ASCII without leading or trailing whitespace,
// else "=?base64?" + base64(UTF-8) + "?="; a plain value that looks like
// that form is encoded too, so it cannot be taken for one.
func encodeHeaderValue(s string) string {
	plain := headerSafe(s) &&
		!(len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ')) &&
		!(strings.HasPrefix(s, base64Prefix) && strings.HasSuffix(s, base64Suffix))
	if plain {
		return s
	}
	return base64Prefix + base64.StdEncoding.EncodeToString([]byte(s)) + base64Suffix
}

// headerValue converts an argument to its header form (SEP-2243, "Type
// conversion"): strings as they are, integers in decimal, booleans as
// true/false; null, objects and arrays give no header. A number is
// mirrored in the form it has in the body, which the server compares
// numerically.
func headerValue(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || isNull(raw) || raw[0] == '{' || raw[0] == '[':
		return "", false
	case isString(raw):
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return encodeHeaderValue(s), true
	case string(raw) == "true" || string(raw) == "false":
		return string(raw), true
	case isNumber(raw):
		return string(raw), true
	}
	return "", false
}
