package daemon_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/auditlog"
)

// Two builds of one small client: the one at the allowed path gets a
// token, the copy elsewhere (same bytes) is refused with PEER_NOT_ALLOWED
// and learns why; both are in the audit log with what the daemon saw.
func TestCallerPolicy(t *testing.T) {
	bin := t.TempDir()
	allowed, refused := filepath.Join(bin, "allowed"), filepath.Join(bin, "refused")
	if out, err := exec.Command("go", "build", "-o", allowed, "./testdata/caller").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(allowed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(refused, b, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "")
	e.cfg.Servers = append(e.cfg.Servers, daemon.ServerSection{URL: e.tb.MCP.URL(), AllowedClients: []string{allowed}})
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)

	run := func(exe string) string {
		out, err := exec.Command(exe, e.sock, e.tb.MCP.URL()).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", exe, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run(allowed); got != "ok" {
		t.Fatalf("allowed client: %s", got)
	}
	got := run(refused)
	for _, want := range []string{"code=PermissionDenied", "reason=" + daemon.ReasonPeerNotAllowed, refused, "ask your administrator"} {
		if !strings.Contains(got, want) {
			t.Errorf("refused client output lacks %q: %s", want, got)
		}
	}
	// This test binary is not listed either.
	_, err = c.GetToken(t.Context(), client.TokenRequest{Resource: e.tb.MCP.URL()})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("test process: %v", err)
	}

	// The audit writer flushes its queue when the daemon stops.
	stop()
	seen := map[string]auditlog.Event{}
	for _, ev := range readAuditFile(t, filepath.Join(e.state, auditlog.File)) {
		if ev.Operation == "GetToken" {
			seen[ev.Caller.Exe] = ev
		}
	}
	if ev := seen[allowed]; ev.Outcome != "ok" || len(ev.TokenFP) != 8 || ev.Server != e.tb.MCP.URL() || ev.Caller.SHA256 == "" || ev.Caller.PID == 0 {
		t.Errorf("audit of the allowed client: %+v", ev)
	}
	if ev := seen[refused]; ev.Outcome != "denied" || ev.Reason != daemon.ReasonPeerNotAllowed || ev.TokenFP != "" {
		t.Errorf("audit of the refused client: %+v", ev)
	}
}

// readAuditFile reads every record of one audit file, failing on a line
// that is not one.
func readAuditFile(t *testing.T, path string) []auditlog.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := auditlog.NewReader(f)
	var out []auditlog.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if r.Skipped() != 0 {
		t.Fatalf("%s: %d lines are not records", path, r.Skipped())
	}
	return out
}
