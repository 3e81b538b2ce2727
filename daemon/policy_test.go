package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/daemon/keys"
	"github.com/xaad-dev/xaad/internal/peercred"
)

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// The decision is a pure function of (server, process); Alive is not
// reached for these hand-made processes except where the rules match, so
// those cases carry an error the way an exited caller would.
func TestPolicyDecide(t *testing.T) {
	p := newPolicy([]ServerSection{
		{URL: "https://open.example/mcp"},
		{URL: "https://locked.example/mcp", AllowedClients: []string{"/opt/editor/bin/editor", "sha256:" + strings.ToUpper(sumA)}},
	})
	exited := fmt.Errorf("gone: %w", peercred.ErrExited)
	tests := []struct {
		name   string
		server string
		proc   *peercred.Process
		want   string // "" = allowed; else a part of the refusal
	}{
		{"no policy, anyone", "https://open.example/mcp", &peercred.Process{Exe: "/bin/x"}, ""},
		{"unlisted server, anyone", "https://other.example/mcp", nil, ""},
		{"unidentified caller", "https://locked.example/mcp", nil, "could not identify"},
		{"caller exited first", "https://locked.example/mcp", &peercred.Process{PID: 7, Err: exited}, "gone"},
		{"other executable", "https://locked.example/mcp", &peercred.Process{PID: 7, Exe: "/tmp/evil", SHA256: "bb"}, "/tmp/evil (sha256:bb, pid 7) is not one of them"},
		{"listed path, then gone", "https://locked.example/mcp", &peercred.Process{PID: 7, Exe: "/opt/editor/bin/editor"}, "changed after it was identified"},
		{"listed hash, then gone", "https://locked.example/mcp", &peercred.Process{PID: 7, Exe: "/x", SHA256: sumA}, "changed after it was identified"},
	}
	for _, tt := range tests {
		err := p.decide(tt.server, tt.proc)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !isPeerNotAllowed(err)):
			t.Errorf("%s: %v, want a refusal with %q", tt.name, err, tt.want)
		}
	}
	if err := p.decideAudience(); !isPeerNotAllowed(err) {
		t.Errorf("audience with a policy: %v", err)
	}
	if err := newPolicy(nil).decideAudience(); err != nil {
		t.Errorf("audience without a policy: %v", err)
	}
}

func TestAllowedClientsValidation(t *testing.T) {
	for _, tc := range []struct {
		list []string
		want string
	}{
		{[]string{"/usr/bin/foo", "sha256:" + sumA}, ""},
		{[]string{}, "is empty"},
		{[]string{"foo"}, "absolute"},
		{[]string{"/usr/../bin/foo"}, "clean"},
		{[]string{"sha256:abc"}, "64 hex"},
	} {
		probs := checkAllowedClients("server[0]", tc.list)
		if tc.want == "" && len(probs) > 0 || tc.want != "" && (len(probs) != 1 || !strings.Contains(probs[0], tc.want)) {
			t.Errorf("%q: %v, want %q", tc.list, probs, tc.want)
		}
	}
}

// A path rule is resolved like /proc/<pid>/exe resolves symlinks.
func TestAllowedClientPathResolved(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	os.WriteFile(real, nil, 0o755)
	os.Symlink(real, filepath.Join(dir, "link"))
	r, err := parseClientRule(filepath.Join(dir, "link"))
	if err != nil || r.path != real {
		t.Fatalf("rule %+v, %v; want path %s", r, err, real)
	}
}

// The new keys decode from TOML and are validated with the rest.
func TestPolicyAndKeyConfig(t *testing.T) {
	base := "[idp]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nauth_method = \"none\"\n"
	fc, err := ParseConfig([]byte("[daemon]\nkey_provider = \"keyring\"\nkey_file = \"/k\"\n" + base +
		"[[server]]\nurl = \"https://mcp.example/mcp\"\nallowed_clients = [\"/opt/x/bin/x\", \"sha256:" + sumA + "\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fc.Daemon.KeyProvider != keys.Keyring || len(fc.Servers[0].AllowedClients) != 2 {
		t.Fatalf("decoded %+v", fc)
	}
	_, err = ParseConfig([]byte("[daemon]\nkey_provider = \"tpm\"\nkey_file = \"rel\"\n" + base +
		"[[server]]\nurl = \"https://mcp.example/mcp\"\nallowed_clients = [\"x\"]\n"))
	for _, want := range []string{"key_provider \"tpm\"", "key_file \"rel\"", "server[0].allowed_clients"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad config: %v, want a problem about %s", err, want)
		}
	}
}
