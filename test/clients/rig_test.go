// Package clients_test runs real MCP clients (Claude Code, Codex, the MCP
// Inspector, installed from npm by scripts/clients-test.sh) against xaactl
// and a real, signed-in xaad daemon, with the snippets of docs/clients.md.
// Without the clients installed it skips (testenv.OptIn).
package clients_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/testdaemon"
	"github.com/xaad-dev/xaad/internal/testenv"
)

// docURL is the server URL of every snippet; tests put the testbed's there.
const docURL = "https://mcp.tools.example/mcp"

// clientTimeout bounds one client command; they take about a second.
const clientTimeout = 60 * time.Second

// rig is a signed-in daemon for a testbed and the clients' binaries.
type rig struct {
	env     *testdaemon.Env
	bin     string // the folder of the xaactl under test
	clients string // node_modules/.bin of the npm clients
	node    string // the folder of the node binary they run with
	home    string // HOME of the clients: their configuration goes there
}

// newRig needs XAAD_CLIENTS_BIN (node_modules/.bin), XAAD_CLIENTS_NODE
// (Node 22's bin folder) and XAAD_CLIENTS_XAACTL (the xaactl to test), which
// scripts/clients-test.sh sets. Each client runs in a private mount
// namespace whose /run/user is its own (see command), so the tests need
// root and unshare.
func newRig(t *testing.T, opts testdaemon.Options) *rig {
	t.Helper()
	clients, node, xaactl := os.Getenv("XAAD_CLIENTS_BIN"), os.Getenv("XAAD_CLIENTS_NODE"), os.Getenv("XAAD_CLIENTS_XAACTL")
	if clients == "" || node == "" || xaactl == "" {
		testenv.OptIn(t, "scripts/clients-test.sh runs it, with Claude Code, Codex and the MCP Inspector installed from npm")
	}
	testenv.Root(t, "give each client a private /run/user in a mount namespace")
	testenv.Tool(t, "unshare", "util-linux")
	env, err := testdaemon.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return &rig{env: env, bin: filepath.Dir(xaactl), clients: clients, node: node, home: t.TempDir()}
}

// where says where xaactl can find the daemon in a client's namespace.
type where int

const (
	// atDefault: the daemon's socket is at the default path,
	// /run/user/UID/xaad/xaad.sock, where systemd's xaad.socket puts it.
	atDefault where = iota
	// nowhereDefault: nothing is at the default path; only XAAD_SOCKET or
	// --socket can lead xaactl to the daemon.
	nowhereDefault
)

// nsScript gives the command a /run/user of its own (a tmpfs), links the
// daemon's socket to the default path when asked ($LINK), and runs it with
// neither XDG_RUNTIME_DIR nor LINK in its environment.
const nsScript = `set -e
mount -t tmpfs -o mode=0755 tmpfs /run/user
if [ -n "$LINK" ]; then
	d=/run/user/$(id -u)/xaad
	mkdir -p -m 0700 "$d"
	ln -s "$LINK" "$d/xaad.sock"
fi
unset LINK XDG_RUNTIME_DIR
exec "$@"`

// command runs a client as a person's session would: its own HOME, the
// clients, node and xaactl on PATH, and env added to that environment.
func (r *rig) command(ctx context.Context, w where, env []string, dir, name string, args ...string) *exec.Cmd {
	link := ""
	if w == atDefault {
		link = r.env.Socket
	}
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", nsScript, "sh", filepath.Join(r.clients, name)}, args...)...)
	cmd.Env = append([]string{
		"HOME=" + r.home, "PATH=" + strings.Join([]string{r.bin, r.node, r.clients, "/usr/local/bin", "/usr/bin", "/bin"}, ":"),
		"SHELL=/bin/sh", "TERM=dumb", "LANG=C.UTF-8", "LINK=" + link,
		// The clients must not phone home for updates or telemetry.
		"DISABLE_AUTOUPDATER=1", "DISABLE_TELEMETRY=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	}, env...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = r.home
	}
	return cmd
}

// run runs a client command and returns its combined output.
func (r *rig) run(t *testing.T, w where, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := r.command(ctx, w, env, "", name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Logf("%s %q: %v", name, args, err)
	}
	return out.String()
}

// url puts the testbed's MCP server where a snippet has docURL.
func (r *rig) url(s string) string { return strings.ReplaceAll(s, docURL, r.env.TB.MCP.URL()) }

// xaactlPath is the xaactl under test, for snippets that name it by an
// absolute path.
func (r *rig) xaactlPath() string { return filepath.Join(r.bin, "xaactl") }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

// socketEnv is XAAD_SOCKET for the rig's daemon.
func (r *rig) socketEnv() string { return fmt.Sprintf("XAAD_SOCKET=%s", r.env.Socket) }
