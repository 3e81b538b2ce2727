package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// JSON-RPC 2.0 §5.1 error codes the bridge uses.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeInternal       = -32603
	// codeHeaderMismatch is MCP 2026-07-28's HeaderMismatch (Streamable
	// HTTP, "Server Validation").
	codeHeaderMismatch = -32020
)

// msg is one JSON-RPC 2.0 message whose members are kept as the bytes they
// arrived as: the bridge relays ids and methods byte for byte (a client's
// id 1.2 must not come back as 1, nor collide with 1.7) and never
// re-encodes what it does not change.
type msg struct {
	id     json.RawMessage // nil when absent
	method json.RawMessage // the JSON string as sent; nil for a response
	name   string          // method, decoded
	params json.RawMessage
	result json.RawMessage
	err    json.RawMessage
}

func (m *msg) isCall() bool     { return m.method != nil && m.id != nil }
func (m *msg) isResponse() bool { return m.method == nil }

// rpcError is a JSON-RPC error object (JSON-RPC 2.0 §5.1).
type rpcError struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (%d)", e.Message, e.Code) }

func invalid(format string, args ...any) *rpcError {
	return &rpcError{Code: codeInvalidRequest, Message: "invalid JSON-RPC: " + fmt.Sprintf(format, args...)}
}

func unparsable(format string, args ...any) *rpcError {
	return &rpcError{Code: codeParseError, Message: "not JSON: " + fmt.Sprintf(format, args...)}
}

// parseMsg parses one message strictly: a single JSON object (no batch,
// which MCP dropped in 2025-06-18), valid UTF-8 (RFC 8259 §8.1), no data
// after it, only the members JSON-RPC 2.0 defines, each once, with
// "jsonrpc":"2.0", a non-empty string method, a string or number id (MCP
// forbids null ids for requests), structured params, and a response
// carrying exactly one of result and error. The error's id is the message's
// id when that much could be read.
func parseMsg(b []byte) (*msg, *rpcError, json.RawMessage) {
	if !utf8.Valid(b) {
		return nil, unparsable("the message is not valid UTF-8"), nil
	}
	m, err := parseMembers(b)
	if err == nil {
		err = m.check()
	}
	if err != nil {
		var id json.RawMessage
		if m != nil {
			id = m.validID()
		}
		return nil, err, id
	}
	return m, nil, nil
}

// parseMembers reads the members. A member that is wrong does not stop the
// reading, so the error can be answered under the message's id.
func parseMembers(b []byte) (*msg, *rpcError) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, unparsable("%v", err)
	}
	switch tok {
	case json.Delim('{'):
	case json.Delim('['):
		return nil, invalid("batches are not supported (MCP removed JSON-RPC batching in 2025-06-18)")
	default:
		return nil, invalid("a message must be a JSON object")
	}
	m := &msg{}
	version, first, syntaxErr := m.readMembers(dec)
	if syntaxErr != nil {
		return nil, syntaxErr
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, unparsable("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, unparsable("data after the message")
	}
	if string(version) != `"2.0"` {
		first = cmpOr(first, invalid(`"jsonrpc" must be "2.0"`))
	}
	return m, first
}

// readMembers fills m from the object's members and returns the
// "jsonrpc" member, the first member that is wrong, and a syntax error.
func (m *msg) readMembers(dec *json.Decoder) (version json.RawMessage, first, syntax *rpcError) {
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, nil, unparsable("%v", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, unparsable("%v", err)
		}
		slot := m.member(key.(string), &version)
		switch {
		case slot == nil:
			first = cmpOr(first, invalid("unknown member %q", key))
		case *slot != nil:
			first = cmpOr(first, invalid("member %q appears twice", key))
		default:
			*slot = raw
		}
	}
	return version, first, nil
}

func cmpOr(a, b *rpcError) *rpcError {
	if a != nil {
		return a
	}
	return b
}

func (m *msg) member(key string, version *json.RawMessage) *json.RawMessage {
	switch key {
	case "jsonrpc":
		return version
	case "id":
		return &m.id
	case "method":
		return &m.method
	case "params":
		return &m.params
	case "result":
		return &m.result
	case "error":
		return &m.err
	}
	return nil
}

func (m *msg) check() *rpcError {
	if m.id != nil && !isString(m.id) && !isNumber(m.id) && !(m.method == nil && isNull(m.id)) {
		return invalid(`"id" must be a string or a number`)
	}
	if m.method == nil {
		return m.checkResponse()
	}
	if !isString(m.method) || json.Unmarshal(m.method, &m.name) != nil || m.name == "" {
		return invalid(`"method" must be a non-empty string`)
	}
	if m.result != nil || m.err != nil {
		return invalid("a request cannot carry a result or an error")
	}
	if isNull(m.params) {
		m.params = nil // tolerated, and dropped: JSON-RPC wants it structured or absent
	}
	if m.params != nil && m.params[0] != '{' && m.params[0] != '[' {
		return invalid(`"params" must be an object or an array`)
	}
	return nil
}

func (m *msg) checkResponse() *rpcError {
	switch {
	case m.id == nil:
		return invalid(`a message needs a "method" (request) or an "id" (response)`)
	case m.params != nil:
		return invalid(`a response cannot carry "params"`)
	case (m.result == nil) == (m.err == nil):
		return invalid(`a response carries exactly one of "result" and "error"`)
	case m.err != nil:
		var e struct {
			Code    *json.Number `json:"code"`
			Message *string      `json:"message"`
		}
		if json.Unmarshal(m.err, &e) != nil || e.Code == nil || e.Message == nil {
			return invalid(`"error" must be an object with a numeric "code" and a string "message"`)
		}
		if _, err := e.Code.Int64(); err != nil {
			return invalid(`"error.code" must be an integer`)
		}
	case isNull(m.id):
		return invalid(`only an error response may have a null "id"`)
	}
	return nil
}

// validID returns m's id if it is one the bridge can answer under.
func (m *msg) validID() json.RawMessage {
	if isString(m.id) || isNumber(m.id) {
		return m.id
	}
	return nil
}

// errorObject decodes a response's error.
func (m *msg) errorObject() *rpcError {
	if m.err == nil {
		return nil
	}
	var e rpcError
	if json.Unmarshal(m.err, &e) != nil {
		return &rpcError{Code: codeInternal, Message: "malformed error"}
	}
	return &e
}

func isString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }
func isNull(raw json.RawMessage) bool   { return string(raw) == "null" }

// isNumber reports whether raw, a JSON value from the decoder, is a number.
func isNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'))
}

// idKey identifies an id for matching: the decoded text of a string id
// (so "a" and "\u0061" are one id) and the exact text of a number, so ids
// the client keeps apart stay apart.
func idKey(raw json.RawMessage) string {
	if isString(raw) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return "s" + s
		}
	}
	return "n" + string(raw)
}

// encode writes m as one line of compact JSON, with id in place of m's own
// id when id is not nil.
func (m *msg) encode(id json.RawMessage) []byte {
	if id == nil {
		id = m.id
	}
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0"`)
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"id", id}, {"method", m.method}, {"params", m.params}, {"result", m.result}, {"error", m.err}} {
		if f.raw == nil {
			continue
		}
		b.WriteString(`,"` + f.name + `":`)
		// The members came from the decoder, so they are valid JSON;
		// compacting only drops whitespace, which may hold newlines that
		// would break the line-delimited stdio stream.
		if err := json.Compact(&b, f.raw); err != nil {
			panic(fmt.Sprintf("bridge: compacting a decoded member: %v", err))
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// errorResponse is the line answering id with e; a nil id is written as
// null (JSON-RPC 2.0 §5: the id could not be read).
func errorResponse(id json.RawMessage, e *rpcError) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	errJSON, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("bridge: encoding an error: %v", err))
	}
	return (&msg{err: errJSON}).encode(id)
}
