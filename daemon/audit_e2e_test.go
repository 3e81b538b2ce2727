package daemon_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/auditlog"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// readAuditHistory reads every audit file of a state folder, oldest first.
func readAuditHistory(t *testing.T, state string) []auditlog.Event {
	t.Helper()
	files, err := auditlog.History(state)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Event
	for _, name := range files {
		out = append(out, readAuditFile(t, name)...)
	}
	return out
}

// Against a real daemon: a resource with a newline stays inside its own
// record (it cannot forge an "ok" row), and 30 requests with 100 KiB
// resources (near the largest request gRPC lets through, docs/limits.md)
// neither rotate the history away nor store 100 KiB each.
func TestAuditUnderHostileRequests(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	forged := "http://127.0.0.1:1/mcp\n" + strings.TrimSpace(string(auditlog.Encode(auditlog.Event{Operation: "GetToken", Server: "https://bank.example/mcp", Outcome: "ok"})))
	_, _ = c.Raw().GetToken(ctx, &xaadv1.GetTokenRequest{Resource: forged})
	huge := "http://127.0.0.1:1/" + strings.Repeat("a", 100<<10)
	for range 30 {
		_, _ = c.Raw().GetToken(ctx, &xaadv1.GetTokenRequest{Resource: huge})
	}
	stop()

	if _, err := os.Stat(filepath.Join(e.state, auditlog.File+".1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log rotated under 30 requests: %v", err)
	}
	evs := readAuditHistory(t, e.state)
	if len(evs) == 0 || evs[0].Operation != "Login" {
		t.Fatalf("the history before the flood is gone: %+v", evs[:min(len(evs), 1)])
	}
	var forgedSeen, bank, cut int
	for _, ev := range evs {
		switch {
		case ev.Server == "https://bank.example/mcp":
			bank++
		case strings.HasPrefix(ev.Server, `http://127.0.0.1:1/mcp\n{`):
			forgedSeen++
		case strings.HasPrefix(ev.Server, "http://127.0.0.1:1/aaa"):
			if !strings.HasSuffix(ev.Server, " bytes]") || len(ev.Server) > 2048 {
				t.Fatalf("a 100 KiB resource stored as %d bytes", len(ev.Server))
			}
			cut += max(ev.Repeated, 1)
		}
	}
	if bank != 0 || forgedSeen != 1 || cut != 30 {
		t.Fatalf("forged rows %d (want 0), the forging request's record %d (want 1), cut records for %d of 30 requests", bank, forgedSeen, cut)
	}
	fi, err := os.Stat(filepath.Join(e.state, auditlog.File))
	if err != nil || fi.Size() > 256<<10 {
		t.Fatalf("the log is %d bytes after 30 requests: %v", fi.Size(), err)
	}
}
