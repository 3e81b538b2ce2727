package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/client/clienttest"
)

// `token --format headers-json` prints exactly the golden object, or
// nothing on stdout and a message and exit code a client can act on.
func TestTokenHeadersJSON(t *testing.T) {
	socket := clienttest.Serve(t, fakeDaemon())
	golden, err := os.ReadFile(filepath.Join("testdata", "token-headers.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		socket   string
		url      string
		wantCode int
		wantOut  string
		wantErr  string // substring of stderr; "" requires it empty
	}{
		{"ok", socket, "https://mcp.tools.example/mcp", ExitOK, string(golden), ""},
		{"not signed in", socket, "https://login.example/mcp", ExitLoginRequired, "", `run "xaactl login"`},
		{"server not allowed", socket, "https://denied.example/mcp", ExitNotAllowed, "", "server not allowed by policy"},
		{"upstream down", socket, "https://down.example/mcp", ExitUpstreamUnavailable, "", "identity provider unreachable"},
		{"daemon not running", filepath.Join(t.TempDir(), "none.sock"), "https://mcp.tools.example/mcp", ExitDaemonUnreachable, "", "xaad daemon not reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.socket, "", "token", tt.url, "--format", "headers-json")
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if r.stdout != tt.wantOut {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.wantOut)
			}
			if tt.wantErr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.wantErr)
			}
		})
	}
}

func TestParseProxy(t *testing.T) {
	o, err := parseProxy([]string{"https://mcp.example/mcp", "--scope", "a", "--scope", "b"})
	if err != nil || o.url != "https://mcp.example/mcp" || strings.Join(o.scopes, " ") != "a b" {
		t.Errorf("got %+v %v", o, err)
	}
	for _, args := range [][]string{{}, {"ftp://x/y"}, {"not a url"}, {"https://a/mcp", "extra"}} {
		if _, err := parseProxy(args); exitCode(err) != ExitUsage {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
