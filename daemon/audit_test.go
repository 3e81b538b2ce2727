package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/clock"
)

// runAudit starts an audit writer in dir on a fake clock; stop ends it
// and waits, as the daemon's stop does.
func runAudit(t *testing.T, dir string, maxSize int64) (a *auditLog, stop func()) {
	t.Helper()
	a, err := newAuditLog(dir, clock.NewFake(t0), discard())
	if err != nil {
		t.Fatal(err)
	}
	if maxSize > 0 {
		a.maxSize = maxSize
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	return a, func() { cancel(); <-done }
}

// readAuditDir reads the rotated files oldest first, then the current one.
func readAuditDir(t *testing.T, dir string) []auditlog.Event {
	t.Helper()
	files, err := auditlog.History(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Event
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := auditlog.NewReader(f)
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
		f.Close()
		if r.Skipped() != 0 {
			t.Fatalf("%s: %d lines are not records", name, r.Skipped())
		}
	}
	return out
}

func TestAuditRotates(t *testing.T) {
	dir := t.TempDir()
	a, stop := runAudit(t, dir, 1000)
	for i := range 100 {
		a.write(auditlog.Event{Time: t0, Operation: "GetToken", Server: fmt.Sprintf("https://s%d.example/mcp", i), Outcome: "ok", TokenFP: "0123abcd"})
	}
	stop()
	for i := 0; i <= auditlog.Keep; i++ {
		name := auditlog.Path(dir, i)
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("rotated file missing: %v", err)
		}
		if fi.Size() > 1000 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", name, fi.Size(), fi.Mode())
		}
	}
	if _, err := os.Stat(auditlog.Path(dir, auditlog.Keep+1)); !errors.Is(err, os.ErrNotExist) {
		t.Error("more rotated files than auditlog.Keep")
	}
	servers := []string{}
	for _, ev := range readAuditDir(t, dir) {
		servers = append(servers, ev.Server)
	}
	// The newest events survive, in order, with none lost in between.
	if last := servers[len(servers)-1]; last != "https://s99.example/mcp" {
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

// A caller that floods the log (here 20,000 requests of 1 MiB resources
// in one window) gets its share written in full and the rest folded into
// counted records: the history written before the flood survives, the
// log grows by a bounded amount, and every event is accounted for.
func TestAuditFloodKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	a, stop := runAudit(t, dir, 0)
	a.write(auditlog.Event{Time: t0, Operation: "GetToken", Server: "https://history.example/mcp", Outcome: "ok",
		Caller: auditlog.Caller{PID: 1, Exe: "/usr/bin/code"}})
	huge := "https://mcp.example/" + strings.Repeat("a", 1<<20)
	const flood = 20000
	for i := range flood {
		reason := "UPSTREAM_UNAVAILABLE"
		if i%2 == 1 {
			reason = "INVALID_ARGUMENT"
		}
		a.write(auditlog.Event{Time: t0, Operation: "GetToken", Server: huge, Outcome: "error", Reason: reason,
			Caller: auditlog.Caller{PID: 666, Exe: "/tmp/flood"}})
	}
	stop()
	fi, err := os.Stat(filepath.Join(dir, auditlog.File))
	if err != nil {
		t.Fatal(err)
	}
	if bound := int64(auditCallerBudget + 2*auditlog.MaxRecord + 4096); fi.Size() > bound {
		t.Fatalf("the log grew to %d bytes under the flood, bound %d", fi.Size(), bound)
	}
	evs := readAuditDir(t, dir)
	if evs[0].Server != "https://history.example/mcp" {
		t.Fatalf("the history before the flood is gone: first record %+v", evs[0])
	}
	counted, folded := 0, 0
	for _, ev := range evs[1:] {
		if !strings.HasSuffix(ev.Server, " bytes]") || len(ev.Server) > 2048 {
			t.Fatalf("a 1 MiB resource stored as %d bytes without a cut marker", len(ev.Server))
		}
		counted += max(ev.Repeated, 1)
		if ev.Repeated > 1 {
			folded++
		}
	}
	if counted != flood || folded != 2 {
		t.Fatalf("records account for %d of %d events (%d folded records, want one per reason)", counted, flood, folded)
	}
}

// Writes after the writer stopped are dropped, not blocked or panicking.
func TestAuditWriteAfterStop(t *testing.T) {
	a, stop := runAudit(t, t.TempDir(), 0)
	stop()
	for range auditQueue + 1 {
		a.write(auditlog.Event{Operation: "GetToken"})
	}
	a.close()
}
