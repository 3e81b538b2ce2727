// Package strictjson decodes the JSON documents upstream servers send
// (metadata, token and error responses, JWT claims) so that every reader
// sees the same document: exactly one JSON object, each member name once,
// and member names matched exactly.
//
// encoding/json alone is lax in three ways a hostile or broken server can
// use to make xaad read something other than what another parser reads:
// Decoder.Decode stops after the first value ({...}{...} or {...} x pass),
// a repeated member silently replaces the earlier one, and member names
// match struct fields case-insensitively ("RESOURCE", "Issuer", even
// "reſource" with a long s all fill "resource"). JSON member names are
// case-sensitive (RFC 8259 §8.3 compares them code unit by code unit), and
// RFC 8259 §4 leaves duplicates to implementations; JWT claim names MUST be
// unique (RFC 7519 §4).
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
)

// Members returns the members of data, which must be exactly one JSON
// object with no repeated member name, optionally surrounded by white
// space. Values are returned raw.
func Members(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("the document is not a JSON object")
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name, _ := tok.(string) // inside an object, Token yields names
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, syntaxError(err)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("member %.64q appears twice", name)
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the document has data after its JSON object")
	}
	return m, nil
}

// Decode decodes data, which must satisfy [Members], into the struct v
// points to. A member whose name equals one of v's JSON field names only
// case-insensitively is an error rather than a match. Members v does not
// name are ignored, as metadata documents are extensible. Only top-level
// names are checked: types passed here keep nested values as
// json.RawMessage or check them with Decode themselves.
func Decode(data []byte, v any) error {
	m, err := Members(data)
	if err != nil {
		return err
	}
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("strictjson: Decode needs a pointer to a struct, not %T", v)
	}
	names := fieldNames(t.Elem())
	for name := range m {
		if names[name] {
			continue
		}
		for want := range names {
			if strings.EqualFold(name, want) {
				return fmt.Errorf("member %.64q is not %q: member names are case-sensitive", name, want)
			}
		}
	}
	return json.Unmarshal(data, v)
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the document is empty or cut off")
	}
	return fmt.Errorf("the document is not valid JSON: %w", err)
}

var namesCache sync.Map // reflect.Type -> map[string]bool

// fieldNames returns the JSON member names encoding/json maps to fields
// of the struct type t, embedded structs included.
func fieldNames(t reflect.Type) map[string]bool {
	if v, ok := namesCache.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n := range fieldNames(f.Type) {
				names[n] = true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	namesCache.Store(t, names)
	return names
}
