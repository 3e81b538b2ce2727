package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"today":                now.Truncate(24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"2026-11-25":           time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		"2026-11-26T09:00:00Z": time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSince("yesterday-ish", now); err == nil {
		t.Error("a bad --since was accepted")
	}
}

// Rotated files are read oldest first, a torn line is skipped, and the
// filters apply.
func TestAuditReadsRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	line := func(ts, server, fp string) string {
		return `{"time":"` + ts + `","op":"GetToken","server":"` + server + `","outcome":"ok","caller":{"pid":42,"uid":1000,"exe":"/usr/bin/code"},"token_fp":"` + fp + `"}` + "\n"
	}
	os.WriteFile(filepath.Join(dir, "audit.jsonl.2"), []byte(line("2026-11-24T10:00:00Z", "https://a/mcp", "00000001")), 0o600)
	os.WriteFile(filepath.Join(dir, "audit.jsonl.1"), []byte(line("2026-11-25T10:00:00Z", "https://b/mcp", "00000002")), 0o600)
	os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte(line("2026-11-26T10:00:00Z", "https://a/mcp", "00000003")+`{"time":"2026-11-26T10:0`), 0o600)
	var out, errb bytes.Buffer
	rc := Main(context.Background(), []string{"audit", "--state-dir", dir, "--server", "https://a/mcp"}, strings.NewReader(""), &out, &errb)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	got := out.String()
	if strings.Contains(got, "00000002") || strings.Index(got, "00000001") > strings.Index(got, "00000003") || !strings.Contains(got, "00000001") {
		t.Fatalf("filtered, ordered output wrong:\n%s", got)
	}
	if !strings.Contains(got, "/usr/bin/code") {
		t.Fatalf("caller missing:\n%s", got)
	}
	out.Reset()
	Main(context.Background(), []string{"audit", "--state-dir", dir, "--since", "2026-11-25T00:00:00Z", "--json"}, strings.NewReader(""), &out, &errb)
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("--since: %d events, want 2:\n%s", n, out.String())
	}
	if rc := Main(context.Background(), []string{"audit", "--state-dir", t.TempDir()}, strings.NewReader(""), &out, &errb); rc == 0 {
		t.Fatal("an empty folder should be an error")
	}
}
