package bridge

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// refEvent is an event as the reference parser dispatches it.
type refEvent struct {
	typ, data, lastID string
}

// referenceEvents is the HTML Living Standard's event stream
// interpretation (§9.2.6), transcribed as literally as possible: decode
// the whole stream as UTF-8 (Go's decoder, one U+FFFD per invalid byte),
// drop one leading BOM, split into lines at CRLF, LF or CR, and process
// each complete line. It is the oracle for eventReader, which streams,
// works on bytes and has a size cap.
func referenceEvents(input []byte) ([]refEvent, string) {
	text := []rune(string(input))
	if len(text) > 0 && text[0] == '\uFEFF' {
		text = text[1:]
	}
	var (
		events                          []refEvent
		data, typ, idBuf, lastID, retry string
		line                            []rune
	)
	dispatch := func() {
		lastID = idBuf
		if data == "" {
			typ = ""
			return
		}
		data = strings.TrimSuffix(data, "\n")
		t := typ
		if t == "" {
			t = "message"
		}
		events = append(events, refEvent{t, data, lastID})
		data, typ = "", ""
	}
	process := func(l string) {
		if l == "" {
			dispatch()
			return
		}
		if l[0] == ':' {
			return
		}
		field, value := l, ""
		if i := strings.IndexByte(l, ':'); i >= 0 {
			field, value = l[:i], strings.TrimPrefix(l[i+1:], " ")
		}
		switch field {
		case "event":
			typ = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.ContainsRune(value, 0) {
				idBuf = value
			}
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				retry = value
			}
		}
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '\r', '\n':
			process(string(line))
			line = line[:0]
			if c == '\r' && i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
		default:
			line = append(line, c)
		}
	}
	// At the end, an unfinished line and event are discarded.
	return events, retry
}

func norm(b []byte) string { return string([]rune(string(b))) }

// readAll runs eventReader over input, read in chunks of chunk bytes.
func readAll(input []byte, max, chunk int) ([]refEvent, string, error) {
	var r io.Reader = bytes.NewReader(input)
	if chunk > 0 {
		r = iotest.OneByteReader(r)
		if chunk > 1 {
			r = iotest.HalfReader(bytes.NewReader(input))
		}
	}
	er := newEventReader(r, max)
	var out []refEvent
	for {
		ev, err := er.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, er.retry, err
		}
		typ := ev.typ
		if typ == "" {
			typ = "message"
		}
		out = append(out, refEvent{norm([]byte(typ)), norm(ev.data), norm([]byte(er.lastID))})
	}
}

// FuzzEventReader: eventReader dispatches exactly the events, last event
// IDs and reconnection time the standard's algorithm does, however the
// stream is split into reads; with a small cap it dispatches a prefix of
// them and then stops with errEventTooLarge, never anything else.
func FuzzEventReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8, smallCap uint8) {
		want, wantRetry := referenceEvents(input)
		got, retry, err := readAll(input, len(input)+1, int(chunk%3))
		if err != nil {
			t.Fatalf("uncapped reader failed: %v", err)
		}
		if !equalEvents(got, want) || retry != wantRetry {
			t.Fatalf("input %q\n got %q retry %q\nwant %q retry %q", input, got, retry, want, wantRetry)
		}
		capped, _, err := readAll(input, int(smallCap), int(chunk%3))
		if err != nil && !errors.Is(err, errEventTooLarge) {
			t.Fatalf("capped reader: %v", err)
		}
		if len(capped) > len(want) || !equalEvents(capped, want[:len(capped)]) {
			t.Fatalf("capped reader's events %q are not a prefix of %q", capped, want)
		}
		if err == nil && !equalEvents(capped, want) {
			t.Fatalf("capped reader stopped early without an error: %q, want %q", capped, want)
		}
	})
}

func equalEvents(a, b []refEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
