package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/auditlog"
)

// Two callers flood two servers with events that all differ (each its
// own token fingerprint), more kinds than the budget keeps groups for:
// the folded records still say which caller and which server the events
// they count were for, and account for every one.
func TestAuditFoldNamesCallerAndServer(t *testing.T) {
	dir := t.TempDir()
	a, stop := runAudit(t, dir, 0)
	const each = 2000
	type pair struct {
		pid    int32
		server string
	}
	floods := []pair{
		{666, "https://x.example/" + strings.Repeat("a", 1<<20)},
		{777, "https://y.example/" + strings.Repeat("b", 1<<20)},
	}
	for i := range each {
		for _, p := range floods {
			a.write(auditlog.Event{Time: t0, Operation: "GetToken", Server: p.server, Outcome: "ok", TokenFP: fmt.Sprintf("%08x", i),
				Caller: auditlog.Caller{PID: p.pid, Exe: "/tmp/flood"}})
		}
	}
	stop()
	counted := map[int32]int{}
	for _, ev := range readAuditDir(t, dir) {
		if ev.Caller.PID == 0 || ev.Server == "" {
			t.Fatalf("a record of %d events names caller %d and server %q", max(ev.Repeated, 1), ev.Caller.PID, ev.Server)
		}
		want := map[int32]string{666: "https://x.example/", 777: "https://y.example/"}[ev.Caller.PID]
		if !strings.HasPrefix(ev.Server, want) {
			t.Fatalf("caller %d's record names server %.40s", ev.Caller.PID, ev.Server)
		}
		counted[ev.Caller.PID] += max(ev.Repeated, 1)
	}
	for _, p := range floods {
		if counted[p.pid] != each {
			t.Errorf("caller %d: records account for %d of %d events", p.pid, counted[p.pid], each)
		}
	}
}
