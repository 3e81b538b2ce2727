package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/clock"
)

// A rotation that fails (here every rename is refused: the rotated names
// are taken by directories) does not stop the audit: records go on to the
// current file, the failure is logged once, and rotation is tried again
// later, when it succeeds, with nothing lost.
func TestAuditRotationFailureKeepsWriting(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= auditlog.Keep; i++ {
		if err := os.MkdirAll(filepath.Join(auditlog.Path(dir, i), "x"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer // written by the writer goroutine, read once it ended
	fk := clock.NewFake(t0)
	a, err := newAuditLog(dir, fk, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.maxSize = 3000 // 100 records fill about two files
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	event := func(i int) auditlog.Event {
		return auditlog.Event{Time: t0, Operation: "GetToken", Server: fmt.Sprintf("https://s%d.example/mcp", i), Outcome: "ok"}
	}
	for i := range 50 {
		a.write(event(i))
	}
	// Until the writer has written the 50th; the bound only stops a hung test.
	for start := time.Now(); ; {
		b, _ := os.ReadFile(filepath.Join(dir, auditlog.File))
		if bytes.Contains(b, []byte("https://s49.example/mcp")) {
			break
		}
		if time.Since(start) > 30*time.Second {
			cancel()
			<-done
			t.Fatalf("records after a failed rotation were lost; log:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= auditlog.Keep; i++ {
		if err := os.RemoveAll(auditlog.Path(dir, i)); err != nil {
			t.Fatal(err)
		}
	}
	fk.Advance(auditRotateRetry)
	for i := 50; i < 100; i++ {
		a.write(event(i))
	}
	cancel()
	<-done
	if n := strings.Count(logs.String(), "cannot rotate"); n != 1 {
		t.Errorf("the rotation failure was logged %d times, want once:\n%s", n, logs.String())
	}
	if _, err := os.Stat(auditlog.Path(dir, 1)); err != nil {
		t.Errorf("no rotation once renames work again: %v", err)
	}
	evs := readAuditDir(t, dir)
	if len(evs) != 100 {
		t.Fatalf("%d of 100 records in the log", len(evs))
	}
	for i, ev := range evs {
		if ev.Server != event(i).Server {
			t.Fatalf("record %d is %s, want %s", i, ev.Server, event(i).Server)
		}
	}
}
