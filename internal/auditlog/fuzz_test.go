package auditlog

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRecord writes one record from arbitrary caller-controlled text and
// reads it back. Invariants: the record is one line of at most MaxRecord
// bytes with no control character; reading it gives exactly one event,
// equal to what was written; every text field is printable and, unless it
// was cut, unescapes to the caller's text byte for byte; a cut field keeps
// a prefix of the text and its marker counts exactly the bytes left out.
func FuzzRecord(f *testing.F) {
	f.Add("GetToken", "https://mcp.example/mcp", "PEER_NOT_ALLOWED", "/usr/bin/code", "", int32(7))
	f.Add("GetToken", "https://evil.example/\n{\"op\":\"GetToken\",\"outcome\":\"ok\"}", "", "/tmp/x\x1b]0;pwned\x07", "gone", int32(-1))
	f.Add("", strings.Repeat("€", 1000), strings.Repeat("\\", 300), "caf\xc3", "\u202e", int32(0))
	f.Fuzz(func(t *testing.T, op, server, reason, exe, exeErr string, pid int32) {
		in := Event{Time: t0, Operation: op, Server: server, Outcome: OutcomeOK, Reason: reason, TokenFP: "0123abcd",
			Caller: Caller{PID: pid, UID: 1000, Exe: exe, SHA256: strings.Repeat("a", 64), ExeError: exeErr}}
		line := Encode(in)
		if len(line) > MaxRecord || bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("record of %d bytes with newline at %d", len(line), bytes.IndexByte(line, '\n'))
		}
		for _, c := range line[:len(line)-1] {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control byte %#x in the record %q", c, line)
			}
		}
		r := NewReader(bytes.NewReader(line))
		evs := readAll(t, r)
		if len(evs) != 1 || r.Skipped() != 0 {
			t.Fatalf("read %d events, skipped %d", len(evs), r.Skipped())
		}
		got, want := evs[0], in.Clean()
		if !got.Time.Equal(want.Time) {
			t.Fatalf("time %v, want %v", got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Fatalf("read back %+v, wrote %+v", got, want)
		}
		for _, f := range []struct {
			orig, stored string
			max          int
		}{{op, got.Operation, maxOperation}, {server, got.Server, maxServer}, {reason, got.Reason, maxReason},
			{exe, got.Caller.Exe, maxExe}, {exeErr, got.Caller.ExeError, maxExeError}} {
			checkField(t, f.orig, f.stored, f.max)
		}
	})
}

func checkField(t *testing.T, orig, stored string, max int) {
	t.Helper()
	if !printableOnly(stored) || len(stored) > max || Printable(stored) != stored {
		t.Fatalf("stored field %q: printable %v, %d bytes (max %d)", stored, printableOnly(stored), len(stored), max)
	}
	head, n, cut := splitMarker(stored)
	if !cut {
		if back := unescape(t, stored); back != orig {
			t.Fatalf("stored %q unescapes to %q, not %q", stored, back, orig)
		}
		return
	}
	kept := unescape(t, head)
	if n <= 0 || len(kept)+n != len(orig) || !strings.HasPrefix(orig, kept) {
		t.Fatalf("cut field %q of %q: %d bytes said left out", stored, orig, n)
	}
}

// splitMarker finds the cut marker at the end of stored: a backslash that
// starts an escape (not one escaped by the backslash before it).
func splitMarker(stored string) (head string, left int, cut bool) {
	const open, end = `\…[+`, " bytes]"
	i := strings.LastIndex(stored, open)
	if i < 0 || !strings.HasSuffix(stored, end) || i+len(open) > len(stored)-len(end) {
		return stored, 0, false
	}
	escaped := false
	for j := i - 1; j >= 0 && stored[j] == '\\'; j-- {
		escaped = !escaped
	}
	n, err := strconv.Atoi(stored[i+len(open) : len(stored)-len(end)])
	if escaped || err != nil {
		return stored, 0, false
	}
	return stored[:i], n, true
}

// FuzzReader reads arbitrary bytes as an audit file. Invariants: it never
// fails; every non-empty line is either one record or counted as skipped;
// every record, made printable, holds no control character and encodes
// back to one line.
func FuzzReader(f *testing.F) {
	f.Add(Encode(Event{Time: t0, Operation: "GetToken", Server: "https://a.example/", Outcome: OutcomeOK}))
	f.Add([]byte(`{"time":"2026-11-26T10:00:00Z","op":"x\u001b[2J","server":"a\nb"}` + "\n" + `{"op":` + "\n\n"))
	f.Add([]byte("\xff\xfe{}\r\n{\"repeated\":3,\"since\":\"2026-11-26T10:00:00Z\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.max = 4096
		evs := readAll(t, r)
		lines := 0
		for l := range bytes.SplitSeq(data, []byte("\n")) {
			if len(l) > 0 {
				lines++
			}
		}
		if len(evs)+r.Skipped() != lines {
			t.Fatalf("%d records + %d skipped != %d non-empty lines", len(evs), r.Skipped(), lines)
		}
		for _, ev := range evs {
			p := ev.Printable()
			for _, s := range []string{p.Operation, p.Server, p.Outcome, p.Reason, p.TokenFP, p.Caller.Exe, p.Caller.SHA256, p.Caller.ExeError} {
				if !printableOnly(s) || !utf8.ValidString(s) {
					t.Fatalf("printable field %q holds a control character", s)
				}
			}
			if line := Encode(ev); bytes.IndexByte(line, '\n') != len(line)-1 {
				t.Fatalf("re-encoded record is not one line: %q", line)
			}
		}
	})
}
