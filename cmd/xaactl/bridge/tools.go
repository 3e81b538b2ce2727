package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// toolTable remembers, per tool, the arguments its inputSchema declares
// with x-mcp-header (SEP-2243, "Custom Headers from Tool Parameters"), as
// the last tools/list of a 2026-07-28 session showed them.
type toolTable struct {
	mu    sync.Mutex
	tools map[string][]binding
}

// binding is one declaration: the argument at path goes into
// Mcp-Param-{header}.
type binding struct {
	path   []string
	header string
}

// learn records the declarations of a tools/list result and returns the
// result without the tools whose declarations are invalid: a client MUST
// leave those out of tools/list, and SHOULD log each with the reason
// (SEP-2243, "Schema Extension"). It also returns the names of the tools
// kept and the next page's cursor. A result it cannot read is passed on
// untouched.
func (t *toolTable) learn(result json.RawMessage, log *slog.Logger) (json.RawMessage, []string, string) {
	var r map[string]json.RawMessage
	if json.Unmarshal(result, &r) != nil {
		return result, nil, ""
	}
	var cursor string
	json.Unmarshal(r["nextCursor"], &cursor)
	var tools []json.RawMessage
	if json.Unmarshal(r["tools"], &tools) != nil {
		return result, nil, cursor
	}
	kept := tools[:0:0]
	var names []string
	for _, raw := range tools {
		name, bindings, err := toolBindings(raw)
		if err != nil {
			log.Warn("left a tool out of tools/list: its x-mcp-header declarations are invalid (MCP 2026-07-28, SEP-2243)", "tool", name, "reason", err.Error())
			t.set(name, nil)
			continue
		}
		t.set(name, bindings)
		kept = append(kept, raw)
		names = append(names, name)
	}
	if len(kept) == len(tools) {
		return result, names, cursor
	}
	r["tools"] = mustMarshal(kept)
	return mustMarshal(r), names, cursor
}

func (t *toolTable) set(name string, bindings []binding) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(bindings) == 0 {
		delete(t.tools, name)
		return
	}
	if t.tools == nil {
		t.tools = map[string][]binding{}
	}
	if _, known := t.tools[name]; !known && len(t.tools) >= maxTools {
		return // bounded: such a tool's calls go without Mcp-Param headers
	}
	t.tools[name] = bindings
}

// headers returns the Mcp-Param header names (without the prefix) and
// values for a call of tool name with args. An argument that is absent or
// null gets no header (SEP-2243's table of client behaviour).
func (t *toolTable) headers(name string, args json.RawMessage) map[string]string {
	t.mu.Lock()
	bindings := t.tools[name]
	t.mu.Unlock()
	if len(bindings) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, b := range bindings {
		if raw, ok := lookup(args, b.path); ok {
			if v, ok := headerValue(raw); ok {
				out[b.header] = v
			}
		}
	}
	return out
}

// lookup reads the instance value at a chain of property names.
func lookup(args json.RawMessage, path []string) (json.RawMessage, bool) {
	cur := args
	for _, key := range path {
		var obj map[string]json.RawMessage
		if json.Unmarshal(cur, &obj) != nil {
			return nil, false
		}
		v, ok := obj[key]
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// toolBindings reads a tool's name and validates its x-mcp-header
// declarations (SEP-2243, "Schema Extension"): each a non-empty RFC 9110
// token, unique case-insensitively across the schema, on a property of
// primitive type, reachable from the root through "properties" keys alone
// (not through items, composition, conditionals or $ref).
func toolBindings(raw json.RawMessage) (string, []binding, error) {
	var tool struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"inputSchema"`
	}
	if err := json.Unmarshal(raw, &tool); err != nil {
		return "", nil, fmt.Errorf("the tool definition does not parse: %v", err)
	}
	if len(tool.InputSchema) == 0 || !bytesContain(tool.InputSchema, "x-mcp-header") {
		return tool.Name, nil, nil // the common case: nothing to check
	}
	// One generic decoding, walked in place: decoding each level into raw
	// members would hold a copy of the subtree per level.
	var root any
	if err := json.Unmarshal(tool.InputSchema, &root); err != nil {
		return tool.Name, nil, fmt.Errorf("the inputSchema does not parse: %v", err)
	}
	w := &schemaWalk{seen: map[string]bool{}}
	if err := w.schema(root, nil, true, 0); err != nil {
		return tool.Name, nil, err
	}
	return tool.Name, w.out, nil
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

type schemaWalk struct {
	out  []binding
	seen map[string]bool // lowercased header names
}

// Keywords whose values are subschemas: a map of them, or one schema or an
// array of schemas (JSON Schema 2020-12 §10 and §8.2.4, plus draft-07's
// definitions, dependencies and additionalItems).
var (
	schemaMapKeywords = []string{"patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
	schemaKeywords    = []string{"items", "prefixItems", "contains", "additionalProperties", "additionalItems",
		"propertyNames", "unevaluatedItems", "unevaluatedProperties", "allOf", "anyOf", "oneOf", "not",
		"if", "then", "else", "contentSchema"}
)

// schema walks one subschema at path; reachable says whether only
// "properties" keys led here.
func (w *schemaWalk) schema(v any, path []string, reachable bool, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("the inputSchema is nested deeper than %d levels", maxSchemaDepth)
	}
	s, ok := v.(map[string]any)
	if !ok {
		return nil // true, false, or not a schema: no declarations here
	}
	if decl, ok := s["x-mcp-header"]; ok {
		if err := w.declaration(decl, s["type"], path, reachable); err != nil {
			return err
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, name := range sortedKeys(props) {
			if err := w.schema(props[name], append(slices.Clone(path), name), reachable, depth+1); err != nil {
				return err
			}
		}
	}
	for _, kw := range schemaMapKeywords {
		if m, ok := s[kw].(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				if err := w.schema(m[k], append(slices.Clone(path), kw, k), false, depth+1); err != nil {
					return err
				}
			}
		}
	}
	for _, kw := range schemaKeywords {
		if err := w.subschemas(s[kw], append(slices.Clone(path), kw), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// subschemas walks a keyword's value: one schema or an array of them.
func (w *schemaWalk) subschemas(v any, path []string, depth int) error {
	list, ok := v.([]any)
	if !ok {
		return w.schema(v, path, false, depth)
	}
	for _, sub := range list {
		if err := w.schema(sub, path, false, depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *schemaWalk) declaration(decl, typ any, path []string, reachable bool) error {
	where := strings.Join(path, ".")
	if where == "" {
		where = "(the schema root)"
	}
	name, _ := decl.(string)
	switch {
	case !reachable || len(path) == 0:
		return fmt.Errorf("x-mcp-header at %s is not reachable from the root through properties alone", where)
	case name == "":
		return fmt.Errorf("property %s: x-mcp-header must be a non-empty string", where)
	case !isToken(name):
		return fmt.Errorf("property %s: x-mcp-header %q is not an HTTP field-name token (RFC 9110 §5.1)", where, name)
	case w.seen[strings.ToLower(name)]:
		return fmt.Errorf("property %s: x-mcp-header %q is declared twice (names compare case-insensitively)", where, name)
	}
	if err := primitiveType(typ); err != nil {
		return fmt.Errorf("property %s: %w", where, err)
	}
	w.seen[strings.ToLower(name)] = true
	w.out = append(w.out, binding{path: path, header: name})
	return nil
}

// primitiveType accepts the types SEP-2243 allows a declared property
// (string, integer, boolean), optionally nullable. It also accepts
// "number", which the spec text excludes but the official conformance
// suite's servers declare and expect mirrored, as the TypeScript SDK does.
func primitiveType(typ any) error {
	var types []string
	switch t := typ.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return errors.New("x-mcp-header needs a property with a primitive type (string, integer, boolean)")
			}
			types = append(types, s)
		}
	}
	if len(types) == 0 {
		return errors.New("x-mcp-header needs a property with a primitive type (string, integer, boolean)")
	}
	primitives := 0
	for _, t := range types {
		switch t {
		case "string", "integer", "boolean", "number":
			primitives++
		case "null":
		default:
			return fmt.Errorf("x-mcp-header cannot be applied to a property of type %q (only string, integer, boolean)", t)
		}
	}
	if primitives != 1 {
		return fmt.Errorf("x-mcp-header needs a property of exactly one primitive type, not %q", types)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 §5.6.2 token (1*tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
