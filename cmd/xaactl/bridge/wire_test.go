package bridge

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

func TestParseMsg(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int64  // 0: accepted
		id   string // the id the error is answered under
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, 0, ""},
		{`{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}`, 0, ""},
		{`{"jsonrpc":"2.0","id":"x","result":{}}`, 0, ""},
		{`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}`, 0, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"ping","params":null}`, 0, ""},
		{`{"jsonrpc":"2.0","id":1,"method":""}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"method":7}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"Method":"ping"}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":{},"method":"ping"}`, codeInvalidRequest, ""},
		{`{"jsonrpc":"2.0","id":null,"method":"ping"}`, codeInvalidRequest, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"ping","params":3}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"x"}}`, codeInvalidRequest, "1"},
		{`{"jsonrpc":"2.0","id":null,"result":{}}`, codeInvalidRequest, ""},
		{`{"id":1,"method":"ping"}`, codeInvalidRequest, "1"},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, codeInvalidRequest, ""},
		{`"hello"`, codeInvalidRequest, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}{}`, codeParseError, ""},
		{`{"jsonrpc":"2.0","id":1,"method":"p` + "\xff" + `"}`, codeParseError, ""},
		{`{"jsonrpc":"2.0",`, codeParseError, ""},
	} {
		m, err, id := parseMsg([]byte(tc.in))
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: refused: %v", tc.in, err)
		case tc.code != 0 && (err == nil || err.Code != tc.code):
			t.Errorf("%s: got %+v %v, want code %d", tc.in, m, err, tc.code)
		case tc.code != 0 && string(id) != tc.id:
			t.Errorf("%s: error answered under id %s, want %q", tc.in, id, tc.id)
		}
	}
}

// The ids a float64 would merge stay apart as keys, and the same string
// written two ways is one key.
func TestIDKey(t *testing.T) {
	if idKey(json.RawMessage(`1.2`)) == idKey(json.RawMessage(`1.7`)) || idKey(json.RawMessage(`1`)) == idKey(json.RawMessage(`"1"`)) {
		t.Error("distinct ids share a key")
	}
	if idKey(json.RawMessage(`"a"`)) != idKey(json.RawMessage(`"\u0061"`)) {
		t.Error("one string id written two ways has two keys")
	}
}

// members returns the raw members of a line the bridge wrote, read
// independently of parseMsg; the line must hold no line break, which would
// split it on the line-delimited stdio stream.
func members(t *testing.T, line []byte) map[string]json.RawMessage {
	t.Helper()
	if bytes.ContainsAny(line, "\r\n") {
		t.Fatalf("relayed line %q holds a line break", line)
	}
	return object(t, line)
}

// object returns the raw members of a JSON object, read independently of
// parseMsg. The client's own lines are read with it, not with members: the
// fuzzer's input may hold any whitespace, line breaks too, inside the JSON.
func object(t *testing.T, line []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line %q is not a JSON object: %v", line, err)
	}
	return m
}

// FuzzRelay: a message the bridge accepts from the client reaches the
// server with its method and params byte for byte and an id the bridge
// assigned, and the server's answer reaches the client with the client's
// id byte for byte; a message the bridge refuses is answered with one line
// of JSON-RPC error; {"method":""} is always refused.
func FuzzRelay(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		m, perr, id := parseMsg(line)
		if perr != nil {
			out := members(t, errorResponse(id, perr))
			if want := string(id); want != "" && string(out["id"]) != want || want == "" && string(out["id"]) != "null" {
				t.Fatalf("error for %q answered under id %s, want %q", line, out["id"], id)
			}
			return
		}
		in := object(t, line) // the client's own bytes
		if m.method != nil && m.name == "" {
			t.Fatalf("accepted an empty method: %q", line)
		}
		const remote = 42
		toServer := members(t, m.encode(json.RawMessage(strconv.Itoa(remote))))
		for _, k := range []string{"method", "result", "error"} {
			if !bytes.Equal(compact(t, toServer[k]), compact(t, in[k])) {
				t.Fatalf("%s changed on the way: %q became %q", k, in[k], toServer[k])
			}
		}
		if !bytes.Equal(toServer["method"], in["method"]) {
			t.Fatalf("method not byte for byte: %q became %q", in["method"], toServer["method"])
		}
		if !m.isCall() {
			return
		}
		if string(toServer["id"]) != strconv.Itoa(remote) {
			t.Fatalf("the server sees id %s, want the assigned %d", toServer["id"], remote)
		}
		answer, aerr, _ := parseMsg([]byte(`{"jsonrpc":"2.0","id":42,"result":{"ok":true}}`))
		if aerr != nil || idKey(answer.id) != remoteKey(remote) {
			t.Fatal("the server's answer does not match the assigned id")
		}
		toClient := members(t, answer.encode(m.id))
		if !bytes.Equal(toClient["id"], in["id"]) {
			t.Fatalf("id not byte for byte: %q came back as %q", in["id"], toClient["id"])
		}
	})
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("member %q is not JSON: %v", raw, err)
	}
	return b.Bytes()
}
