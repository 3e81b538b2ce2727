package bridge

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// The examples of SEP-2243's "Value Encoding" table.
func TestEncodeHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"us-west1":           "us-west1",
		"Hello, 世界":          "=?base64?SGVsbG8sIOS4lueVjA==?=",
		" padded ":           "=?base64?IHBhZGRlZCA=?=",
		"line1\nline2":       "=?base64?bGluZTEKbGluZTI=?=",
		"=?base64?literal?=": "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=",
		"us west 1":          "us west 1",
		"\tindented":         "=?base64?CWluZGVudGVk?=",
		"":                   "",
	} {
		if got := encodeHeaderValue(in); got != want {
			t.Errorf("encode(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzHeaderValue: every encoded value is a valid header value, and
// decoding it as SEP-2243 says gives the original back.
func FuzzHeaderValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // header values come from JSON strings, which are UTF-8
		}
		enc := encodeHeaderValue(s)
		if !headerSafe(enc) || enc != strings.TrimSpace(enc) {
			t.Fatalf("encode(%q) = %q is not a plain header value", s, enc)
		}
		dec := enc
		if b64, ok := strings.CutPrefix(enc, base64Prefix); ok && strings.HasSuffix(b64, base64Suffix) {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(b64, base64Suffix))
			if err != nil {
				t.Fatalf("encode(%q) = %q: %v", s, enc, err)
			}
			dec = string(raw)
		}
		if dec != s {
			t.Fatalf("encode(%q) = %q decodes to %q", s, enc, dec)
		}
	})
}

// The invalid declarations of the conformance suite's
// http-invalid-tool-headers scenario, and the reachability rule.
func TestToolBindings(t *testing.T) {
	valid := map[string]string{
		"plain":           `{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`,
		"nested":          `{"type":"object","properties":{"o":{"type":"object","properties":{"d":{"type":"boolean","x-mcp-header":"Dry"}}}}}`,
		"nullable":        `{"type":"object","properties":{"n":{"type":["integer","null"],"x-mcp-header":"N"}}}`,
		"number":          `{"type":"object","properties":{"f":{"type":"number","x-mcp-header":"F"}}}`,
		"no declarations": `{"type":"object","properties":{"q":{"type":"string"}}}`,
		"named like it":   `{"type":"object","properties":{"x-mcp-header":{"type":"string"}}}`,
	}
	invalid := map[string]string{
		"empty":          `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":""}}}`,
		"object":         `{"type":"object","properties":{"v":{"type":"object","x-mcp-header":"Data"}}}`,
		"array":          `{"type":"object","properties":{"v":{"type":"array","items":{"type":"string"},"x-mcp-header":"Items"}}}`,
		"null":           `{"type":"object","properties":{"v":{"type":"null","x-mcp-header":"Nil"}}}`,
		"untyped":        `{"type":"object","properties":{"v":{"x-mcp-header":"V"}}}`,
		"duplicate":      `{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"Region"},"b":{"type":"string","x-mcp-header":"Region"}}}`,
		"duplicate case": `{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"MyField"},"b":{"type":"string","x-mcp-header":"myfield"}}}`,
		"space":          `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":"My Region"}}}`,
		"colon":          `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":"Region:Primary"}}}`,
		"non-ASCII":      `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":"Région"}}}`,
		"control":        `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":"Region\t1"}}}`,
		"not a string":   `{"type":"object","properties":{"v":{"type":"string","x-mcp-header":7}}}`,
		"under items":    `{"type":"object","properties":{"v":{"type":"array","items":{"type":"string","x-mcp-header":"I"}}}}`,
		"under oneOf":    `{"type":"object","oneOf":[{"properties":{"v":{"type":"string","x-mcp-header":"V"}}}]}`,
		"under $defs":    `{"type":"object","$defs":{"d":{"type":"string","x-mcp-header":"D"}},"properties":{"v":{"$ref":"#/$defs/d"}}}`,
		"at the root":    `{"type":"string","x-mcp-header":"Root"}`,
	}
	for name, schema := range valid {
		if _, _, err := toolBindings(json.RawMessage(`{"name":"t","inputSchema":` + schema + `}`)); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	for name, schema := range invalid {
		if _, b, err := toolBindings(json.RawMessage(`{"name":"t","inputSchema":` + schema + `}`)); err == nil {
			t.Errorf("%s: accepted with %v", name, b)
		}
	}
}

// learn drops the invalid tools from the relayed list, keeps everything
// else of the result, and remembers the declarations for the headers.
func TestLearnAndHeaders(t *testing.T) {
	var tt toolTable
	result := `{"tools":[` +
		`{"name":"good","inputSchema":{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"Region"},"o":{"type":"object","properties":{"n":{"type":"integer","x-mcp-header":"N"}}}}}},` +
		`{"name":"bad","inputSchema":{"type":"object","properties":{"v":{"type":"object","x-mcp-header":"V"}}}}` +
		`],"nextCursor":"c2","_meta":{"k":1}}`
	out, names, cursor := tt.learn(json.RawMessage(result), slog.New(slog.DiscardHandler))
	if strings.Contains(string(out), `"bad"`) || !strings.Contains(string(out), `"good"`) || !strings.Contains(string(out), `"_meta":{"k":1}`) {
		t.Errorf("relayed result %s", out)
	}
	if len(names) != 1 || names[0] != "good" || cursor != "c2" {
		t.Errorf("names %v cursor %q", names, cursor)
	}
	h := tt.headers("good", json.RawMessage(`{"r":" x","o":{"n":12},"other":1}`))
	if h["Region"] != "=?base64?IHg=?=" || h["N"] != "12" || len(h) != 2 {
		t.Errorf("headers %v", h)
	}
	if h := tt.headers("good", json.RawMessage(`{"r":null,"o":{"n":{"deep":1}}}`)); len(h) != 0 {
		t.Errorf("null and non-primitive arguments gave headers %v", h)
	}
	// An unchanged list is relayed as the same bytes.
	same := `{"tools":[{"name":"plain","inputSchema":{"type":"object"}}]}`
	if out, _, _ := tt.learn(json.RawMessage(same), slog.New(slog.DiscardHandler)); string(out) != same {
		t.Errorf("an untouched list was re-encoded: %s", out)
	}
}
