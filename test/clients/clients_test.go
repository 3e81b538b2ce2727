package clients_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// connected is what `claude mcp list` prints for a server it reached.
const connected = "✔ Connected"

// unreachable is the start of xaactl's words when there is no daemon at
// the default socket.
const unreachable = "xaad daemon not reachable at /run/user/"

// claudeAdd runs a `claude mcp add ...` line of the docs.
func claudeAdd(t *testing.T, r *rig, line string) {
	t.Helper()
	f := strings.Fields(r.url(strings.TrimSpace(line)))
	if len(f) < 3 || f[0] != "claude" {
		t.Fatalf("snippet %q is not a claude command", line)
	}
	out := r.run(t, atDefault, nil, "claude", f[1:]...)
	mustContain(t, "claude mcp add", out, "Added")
}

// The bridge in Claude Code, as `claude mcp add` registers it: the health
// check of `claude mcp list` starts `xaactl proxy` and connects, with the
// daemon at the default socket and nothing passed. Claude Code gives a
// stdio server its own environment, so XAAD_SOCKET works too. Signed out,
// the failure shows xaactl's words and the fix.
func TestClaudeCodeAdd(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	claudeAdd(t, r, snippet(t, "claude-code-add"))
	mustContain(t, "claude mcp list", r.run(t, atDefault, nil, "claude", "mcp", "list"), "tools: xaactl proxy "+r.env.TB.MCP.URL(), connected)
	mustContain(t, "claude mcp list with XAAD_SOCKET", r.run(t, nowhereDefault, []string{r.socketEnv()}, "claude", "mcp", "list"), connected)

	out := r.run(t, nowhereDefault, nil, "claude", "mcp", "list")
	mustContain(t, "claude mcp list without a daemon", out, "Failed to connect", unreachable, "systemctl --user start xaad.socket")
}

func TestClaudeCodeSignedOut(t *testing.T) {
	r := newRig(t, testdaemon.Options{NoLogin: true})
	claudeAdd(t, r, snippet(t, "claude-code-add"))
	mustContain(t, "claude mcp list signed out", r.run(t, atDefault, nil, "claude", "mcp", "list"), "Failed to connect", "not signed in", "xaactl login")
}

// A project's .mcp.json, once the project and its servers are approved
// (what Claude Code's trust dialog records).
func TestClaudeCodeProjectFile(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	proj := t.TempDir()
	writeFile(t, filepath.Join(proj, ".mcp.json"), r.url(snippet(t, "claude-code-mcp-json")))
	r.run(t, atDefault, nil, "claude", "mcp", "list") // creates ~/.claude.json
	approveProject(t, r, proj, "tools")
	ctx := t.Context()
	out, err := r.command(ctx, atDefault, nil, proj, "claude", "mcp", "list").CombinedOutput()
	if err != nil {
		t.Log(err)
	}
	mustContain(t, "claude mcp list in the project", string(out), "tools: xaactl proxy "+r.env.TB.MCP.URL(), connected)
}

// approveProject records in ~/.claude.json what accepting the workspace
// trust dialog and the project's servers records.
func approveProject(t *testing.T, r *rig, proj string, servers ...string) {
	t.Helper()
	path := filepath.Join(r.home, ".claude.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["projects"] = map[string]any{proj: map[string]any{"hasTrustDialogAccepted": true, "enabledMcpjsonServers": servers}}
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}

// serverEntry is the entry named name of a JSON config snippet, under
// mcpServers or (VS Code) servers.
func serverEntry(t *testing.T, r *rig, doc, name string) string {
	t.Helper()
	var cfg map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.url(doc)), &cfg); err != nil {
		t.Fatalf("snippet: %v\n%s", err, doc)
	}
	for _, key := range []string{"mcpServers", "servers"} {
		if e, ok := cfg[key][name]; ok {
			return string(e)
		}
	}
	t.Fatalf("snippet has no server %q:\n%s", name, doc)
	return ""
}

// The header helper in Claude Code: its health check runs
// `xaactl token --format headers-json` and connects with the token. A 401
// to the helper's headers ends that connection: the helper is not run
// again, as docs/clients.md says.
func TestClaudeCodeHeadersHelper(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	entry := serverEntry(t, r, snippet(t, "claude-code-headers-helper"), "tools")
	mustContain(t, "claude mcp add-json", r.run(t, atDefault, nil, "claude", "mcp", "add-json", "--scope", "user", "tools", entry), "Added")
	before := tokenRequests(t, r)
	mustContain(t, "claude mcp list", r.run(t, atDefault, nil, "claude", "mcp", "list"), "tools: "+r.env.TB.MCP.URL()+" (HTTP) - "+connected)
	if n := tokenRequests(t, r) - before; n != 1 {
		t.Errorf("the helper ran %d times for one connection, want 1", n)
	}

	var helper struct {
		HeadersHelper string `json:"headersHelper"`
	}
	if err := json.Unmarshal([]byte(entry), &helper); err != nil {
		t.Fatal(err)
	}
	stale, runs := staleFirst(t, helper.HeadersHelper)
	entry = strings.Replace(entry, helper.HeadersHelper, stale, 1)
	r.run(t, atDefault, nil, "claude", "mcp", "remove", "--scope", "user", "tools")
	r.run(t, atDefault, nil, "claude", "mcp", "add-json", "--scope", "user", "tools", entry)
	out := r.run(t, atDefault, nil, "claude", "mcp", "list")
	if n := runs(); n != 1 || strings.Contains(out, connected) {
		t.Errorf("a helper whose first token is refused ran %d times (want 1: Claude Code now runs it again on a 401; update docs/clients.md):\n%s", n, out)
	}
}

// staleFirst wraps a header helper command: its first run prints a token
// the server refuses, later runs are the command. It returns the wrapper's
// command line and a count of its runs.
func staleFirst(t *testing.T, command string) (string, func() int) {
	t.Helper()
	dir := t.TempDir()
	log, script := filepath.Join(dir, "runs"), filepath.Join(dir, "helper")
	writeFile(t, script, "#!/bin/sh\necho run >> "+log+"\n"+
		"[ \"$(wc -l < "+log+")\" -gt 1 ] && exec "+command+"\n"+
		"echo '{\"Authorization\":\"Bearer refused-by-the-server\"}'\n")
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	return script, func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "run\n")
	}
}

// VS Code's entry has the shape Claude Code's add-json takes.
func TestVSCodeEntry(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	entry := serverEntry(t, r, snippet(t, "vscode"), "tools")
	mustContain(t, "claude mcp add-json", r.run(t, atDefault, nil, "claude", "mcp", "add-json", "--scope", "user", "tools", entry), "Added")
	mustContain(t, "claude mcp list", r.run(t, atDefault, nil, "claude", "mcp", "list"), connected)
}

// codexConfig writes a config.toml snippet into Codex's home.
func codexConfig(t *testing.T, r *rig, toml string) {
	t.Helper()
	writeFile(t, filepath.Join(r.home, ".codex", "config.toml"), r.url(toml))
}

// codexServed reports whether Codex's answer lists the testbed's tools.
func codexServed(answer string) bool {
	return strings.Contains(answer, `"name":"xaad-testbed"`) && strings.Contains(answer, `"echo":{"name":"echo"`)
}

// The bridge in Codex, at the default socket.
func TestCodexStdio(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	codexConfig(t, r, snippet(t, "codex-stdio"))
	if got := codexList(t, r, atDefault, nil); !codexServed(got) {
		t.Errorf("Codex did not list the server's tools through xaactl proxy:\n%s", got)
	}
}

// Codex gives stdio servers a short fixed environment: XAAD_SOCKET in
// Codex's own does not reach xaactl, which then looks at the default path
// alone. env_vars passes it on; env sets it.
func TestCodexEnvironment(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	codexConfig(t, r, snippet(t, "codex-stdio"))
	got := codexList(t, r, nowhereDefault, []string{r.socketEnv(), "XDG_RUNTIME_DIR=" + filepath.Dir(r.env.Socket)})
	if codexServed(got) || !strings.Contains(got, unreachable) {
		t.Errorf("with XAAD_SOCKET and XDG_RUNTIME_DIR only in Codex's environment, want xaactl to miss them:\n%s", got)
	}
	codexConfig(t, r, snippet(t, "codex-env-vars"))
	if got := codexList(t, r, nowhereDefault, []string{r.socketEnv()}); !codexServed(got) {
		t.Errorf("env_vars = [\"XAAD_SOCKET\"] did not pass the socket on:\n%s", got)
	}
	codexConfig(t, r, strings.ReplaceAll(snippet(t, "codex-env"), "/home/me/.xaad/xaad.sock", r.env.Socket))
	if got := codexList(t, r, nowhereDefault, nil); !codexServed(got) {
		t.Errorf("env = { XAAD_SOCKET = ... } did not reach xaactl:\n%s", got)
	}
}

// The header helper in Codex: it runs `xaactl token` and connects. After
// a 401 it runs the helper again and, as the headers changed, retries once
// and connects.
func TestCodexHeadersHelper(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	doc := snippet(t, "codex-headers-helper")
	codexConfig(t, r, doc)
	before := tokenRequests(t, r)
	if got := codexList(t, r, atDefault, nil); !codexServed(got) {
		t.Errorf("Codex did not list the tools with the header helper:\n%s", got)
	}
	if n := tokenRequests(t, r) - before; n != 1 {
		t.Errorf("the helper ran %d times for one connection, want 1", n)
	}

	command := tomlString(t, doc, "http_headers_helper")
	stale, runs := staleFirst(t, r.url(command))
	codexConfig(t, r, strings.Replace(doc, command, stale, 1))
	if got := codexList(t, r, atDefault, nil); !codexServed(got) || runs() != 2 {
		t.Errorf("a helper whose first token is refused ran %d times (want 2: again after the 401), answer:\n%s", runs(), got)
	}
}

// tomlString is the value of key = "..." in a TOML snippet.
func tomlString(t *testing.T, doc, key string) string {
	t.Helper()
	for _, l := range strings.Split(doc, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatalf("snippet has no %s:\n%s", key, doc)
	return ""
}

// inspector runs a `npx @modelcontextprotocol/inspector ...` line of the
// docs with the installed Inspector, socket path replaced.
func inspector(t *testing.T, r *rig, w where, env []string, line string) string {
	t.Helper()
	line = strings.ReplaceAll(r.url(strings.TrimSpace(line)), "/home/me/.xaad/xaad.sock", r.env.Socket)
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "npx" || f[1] != "@modelcontextprotocol/inspector" {
		t.Fatalf("snippet %q is not an Inspector command", line)
	}
	return r.run(t, w, env, "mcp-inspector", f[2:]...)
}

// The Inspector's CLI lists the tools through the bridge at the default
// socket; it passes the proxy no XAAD_SOCKET of its own environment, only
// what -e names.
func TestInspectorCLI(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	mustContain(t, "inspector --cli tools/list", inspector(t, r, atDefault, nil, snippet(t, "inspector-cli")), `"name": "echo"`)
	out := inspector(t, r, nowhereDefault, []string{r.socketEnv()}, snippet(t, "inspector-cli"))
	if strings.Contains(out, `"name": "echo"`) || !strings.Contains(out, unreachable) {
		t.Errorf("with XAAD_SOCKET only in the Inspector's environment, want xaactl to miss it:\n%s", out)
	}
	mustContain(t, "inspector --cli -e XAAD_SOCKET", inspector(t, r, nowhereDefault, nil, snippet(t, "inspector-cli-env")), `"name": "echo"`)
}

// Claude Desktop's and Cursor's files have the mcpServers format the
// Inspector reads with --config.
func TestDesktopConfigFiles(t *testing.T) {
	r := newRig(t, testdaemon.Options{})
	for name, doc := range map[string]string{"claude-desktop": snippet(t, "claude-desktop"), "cursor": snippet(t, "cursor")} {
		doc = strings.ReplaceAll(doc, "/usr/local/bin/xaactl", r.xaactlPath())
		file := filepath.Join(t.TempDir(), "mcp.json")
		writeFile(t, file, r.url(doc))
		out := r.run(t, atDefault, nil, "mcp-inspector", "--cli", "--config", file, "--server", "tools", "--method", "tools/list")
		mustContain(t, name+" through the Inspector", out, `"name": "echo"`)
	}
}
