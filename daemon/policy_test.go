package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/peercred"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
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

// Every RPC must say whether it is audited and whether the caller policy
// applies: a new method cannot slip past the policy by omission.
func TestEveryMethodHasARule(t *testing.T) {
	sd := xaadv1.XaadService_ServiceDesc
	var names []string
	for _, m := range sd.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range sd.Streams {
		names = append(names, s.StreamName)
	}
	for _, n := range names {
		if _, ok := methodRules["/"+sd.ServiceName+"/"+n]; !ok {
			t.Errorf("method %s has no entry in methodRules (policy_grpc.go)", n)
		}
	}
	if len(methodRules) != len(names) {
		t.Errorf("methodRules has %d entries for %d methods", len(methodRules), len(names))
	}
}

func TestAuditRotates(t *testing.T) {
	dir := t.TempDir()
	a, err := openAudit(dir, discard())
	if err != nil {
		t.Fatal(err)
	}
	a.maxSize = 1000
	for i := range 100 {
		a.write(AuditEvent{Time: t0, Operation: "GetToken", Server: fmt.Sprintf("https://s%d.example/mcp", i), Outcome: "ok", TokenFP: "0123abcd"})
	}
	a.Close()
	var servers []string
	for i := auditKeep; i >= 0; i-- {
		name := filepath.Join(dir, AuditFile)
		if i > 0 {
			name = fmt.Sprintf("%s.%d", name, i)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatalf("rotated file missing: %v", err)
		}
		fi, _ := f.Stat()
		if fi.Size() > 1000 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", name, fi.Size(), fi.Mode())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ev AuditEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			servers = append(servers, ev.Server)
		}
		f.Close()
	}
	if _, err := os.Stat(fmt.Sprintf("%s.%d", filepath.Join(dir, AuditFile), auditKeep+1)); !errors.Is(err, os.ErrNotExist) {
		t.Error("more rotated files than auditKeep")
	}
	// The newest events survive, in order, with none lost in between.
	last := servers[len(servers)-1]
	if last != "https://s99.example/mcp" {
		t.Fatalf("last event %s", last)
	}
	for i := 1; i < len(servers); i++ {
		var a, b int
		fmt.Sscanf(servers[i-1], "https://s%d.example/mcp", &a)
		fmt.Sscanf(servers[i], "https://s%d.example/mcp", &b)
		if b != a+1 {
			t.Fatalf("events out of order or lost: %s then %s", servers[i-1], servers[i])
		}
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
	if fc.Daemon.KeyProvider != ProviderKeyring || len(fc.Servers[0].AllowedClients) != 2 {
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
