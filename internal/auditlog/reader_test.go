package auditlog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func readAll(t testing.TB, r *Reader) []Event {
	t.Helper()
	var out []Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, ev)
	}
}

// A newline in a resource must not forge a second record: the escaped
// record stays one line and reads back as one event.
func TestForgedRowStaysInItsRecord(t *testing.T) {
	forged := "https://evil.example/mcp\n" + string(Encode(Event{Time: t0, Operation: "GetToken", Server: "https://bank.example/mcp", Outcome: OutcomeOK}))
	line := Encode(Event{Time: t0, Operation: "GetToken", Server: forged, Outcome: OutcomeDenied})
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("record spans %d lines", bytes.Count(line, []byte("\n")))
	}
	evs := readAll(t, NewReader(bytes.NewReader(line)))
	if len(evs) != 1 || evs[0].Outcome != OutcomeDenied || !strings.HasPrefix(evs[0].Server, `https://evil.example/mcp\n{`) {
		t.Fatalf("read %+v", evs)
	}
}

// Lines of any size are read or skipped; a torn or foreign line costs only
// itself.
func TestReaderSkipsBadAndLongLines(t *testing.T) {
	good := func(s string) []byte {
		return Encode(Event{Time: t0, Operation: "GetToken", Server: s, Outcome: OutcomeOK})
	}
	var in bytes.Buffer
	in.Write(good("https://a.example/"))
	in.WriteString("not json\n\n")
	in.WriteString(`{"op":"x"}{"op":"glued"}` + "\n")
	// An older daemon's uncut 3 MiB record: read, not an error.
	in.WriteString(`{"time":"2026-11-26T10:00:00Z","op":"GetToken","server":"https://` + strings.Repeat("b", 3<<20) + `","outcome":"denied","caller":{"pid":1,"uid":2}}` + "\n")
	in.WriteString(strings.Repeat("x", 200) + "\n") // longer than the test's limit below
	in.Write(good("https://c.example/"))
	in.WriteString(`{"time":"2026-11-26T10:00:00Z","op":"torn`) // a crash mid-write

	r := NewReader(bytes.NewReader(in.Bytes()))
	evs := readAll(t, r)
	if len(evs) != 3 || evs[0].Server != "https://a.example/" || len(evs[1].Server) != 3<<20+8 || evs[2].Server != "https://c.example/" {
		t.Fatalf("read %d events", len(evs))
	}
	if r.Skipped() != 4 {
		t.Fatalf("skipped %d lines, want 4 (not json, glued, x…, torn)", r.Skipped())
	}

	small := NewReader(bytes.NewReader(in.Bytes()))
	small.max = 150
	evs = readAll(t, small)
	if len(evs) != 2 || small.Skipped() != 5 {
		t.Fatalf("with a 150-byte limit: %d events, %d skipped; want 2 and 5", len(evs), small.Skipped())
	}
}

// Whatever a caller sends, a record stays under MaxRecord.
func TestEncodeBound(t *testing.T) {
	huge := strings.Repeat(`\"`, 1<<20)
	ev := Event{Time: t0, Since: t0, Repeated: 1 << 30, Operation: huge, Server: huge, Outcome: huge, Reason: huge, TokenFP: huge,
		Caller: Caller{PID: -1 << 31, UID: 1<<32 - 1, Exe: huge, SHA256: huge, ExeError: huge}}
	line := Encode(ev)
	if len(line) > MaxRecord {
		t.Fatalf("record of %d bytes, MaxRecord is %d", len(line), MaxRecord)
	}
	evs := readAll(t, NewReader(bytes.NewReader(line)))
	if len(evs) != 1 || evs[0].Repeated != 1<<30 || !evs[0].Since.Equal(t0) {
		t.Fatalf("read %+v", evs)
	}
}
