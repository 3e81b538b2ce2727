package cli

import (
	"bytes"
	"context"
	"encoding/json"
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

// What reaches the terminal is printable whatever the file holds: a
// resource with a newline (from a daemon that stored it raw) cannot forge
// a row, escape sequences are shown as escapes, and a record of 3 MiB
// (older daemons stored requests uncut) is read, not an error.
func TestAuditPrintsEscapesNotTerminalSequences(t *testing.T) {
	dir := t.TempDir()
	forged := "https://evil.example/mcp\n2026-11-26 10:00:00  GetToken  https://bank.example/mcp  ok"
	raw := `{"time":"2026-11-26T10:00:00Z","op":"GetToken","server":` + jsonString(forged) + `,"outcome":"denied","caller":{"pid":1,"uid":1000,"exe":"/tmp/\u001b]0;pwned\u0007\u001b[2J"}}` + "\n" +
		`{"time":"2026-11-26T10:00:01Z","op":"GetToken","server":"https://` + strings.Repeat("b", 3<<20) + `","outcome":"error","caller":{"pid":2,"uid":1000}}` + "\n" +
		`{"time":"2026-11-26T10:00:02Z","op":"GetToken","server":"https://c.example/","outcome":"ok","caller":{"pid":3,"uid":1000},"repeated":7,"since":"2026-11-26T10:00:00Z"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if rc := Main(context.Background(), []string{"audit", "--state-dir", dir}, strings.NewReader(""), &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	got := out.String()
	for _, c := range []byte(got) {
		if c < 0x20 && c != '\n' || c == 0x7f {
			t.Fatalf("control byte %#x reached the terminal", c)
		}
	}
	if n := strings.Count(got, "\n"); n != 4 {
		t.Fatalf("%d lines for a header and 3 records:\n%.500s", n, got)
	}
	for _, want := range []string{`https://evil.example/mcp\n2026-11-26`, `/tmp/\x1b]0;pwned\x07\x1b[2J`, "ok ×7 since"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%.300s", want, got)
		}
	}
	out.Reset()
	if rc := Main(context.Background(), []string{"audit", "--state-dir", dir, "--json"}, strings.NewReader(""), &out, &errb); rc != 0 {
		t.Fatalf("--json rc %d: %s", rc, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 3 || strings.Contains(out.String(), "\\u001b") {
		t.Fatalf("--json: %d lines (want 3), raw escapes kept: %v", n, strings.Contains(out.String(), "\\u001b"))
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
