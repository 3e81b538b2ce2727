package clients_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// codexList asks Codex's app server (JSON-RPC on stdio; it needs no model
// and no sign-in) for the status of its MCP servers, which starts each one
// as a session would and lists its tools. It returns the answer's JSON.
func codexList(t *testing.T, r *rig, w where, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := r.command(ctx, w, env, "", "codex", "app-server")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"xaad-clients-test","version":"1"}}}`+"\n"+
		`{"jsonrpc":"2.0","method":"initialized"}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"mcpServerStatus/list","params":{}}`+"\n")
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && string(m.ID) == "2" {
			if m.Error != nil {
				t.Fatalf("codex app-server: mcpServerStatus/list: %s", m.Error)
			}
			return string(m.Result)
		}
	}
	t.Fatalf("codex app-server ended without an answer to mcpServerStatus/list; stderr:\n%s", stderr.String())
	return ""
}
