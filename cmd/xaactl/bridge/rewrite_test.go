package bridge

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestAddEMACapability(t *testing.T) {
	tests := []struct {
		name, method, in, want string
	}{
		{"initialize without extensions", "initialize",
			`{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"c","version":"1"}}`,
			`{"protocolVersion":"2025-11-25","capabilities":{"roots":{"listChanged":true},"extensions":{"` + EMAExtension + `":{}}},"clientInfo":{"name":"c","version":"1"}}`},
		{"initialize with other extensions", "initialize",
			`{"capabilities":{"extensions":{"x.y/z":{"a":1}}}}`,
			`{"capabilities":{"extensions":{"x.y/z":{"a":1},"` + EMAExtension + `":{}}}}`},
		{"initialize without capabilities", "initialize",
			`{"protocolVersion":"2025-11-25"}`,
			`{"protocolVersion":"2025-11-25","capabilities":{"extensions":{"` + EMAExtension + `":{}}}}`},
		{"client settings kept", "initialize",
			`{"capabilities":{"extensions":{"` + EMAExtension + `":{"v":2}}}}`,
			`{"capabilities":{"extensions":{"` + EMAExtension + `":{"v":2}}}}`},
		{"per-request capabilities (2026-07-28)", "tools/call",
			`{"name":"echo","_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`,
			`{"name":"echo","_meta":{"io.modelcontextprotocol/clientCapabilities":{"extensions":{"` + EMAExtension + `":{}}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`},
		{"other requests untouched", "tools/call", `{"name":"echo","arguments":{"n":1.50}}`, `{"name":"echo","arguments":{"n":1.50}}`},
		{"unparsable params untouched", "initialize", `[1,2]`, `[1,2]`},
		{"wrongly typed capabilities untouched", "initialize", `{"capabilities":"x"}`, `{"capabilities":"x"}`},
		{"no params", "initialize", ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := addEMACapability(tt.method, json.RawMessage(tt.in))
			if !jsonEqual(t, string(got), tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}
