package bridge

import (
	"strings"
	"testing"
	"time"
)

func TestReadEvents(t *testing.T) {
	stream := "\xEF\xBB\xBF: ok\n\n" +
		"id: s_0\nevent: prime\n\n" +
		"id: s_1\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n" +
		"retry: 2500\rdata:{\"b\":2}\r\r" +
		"data\n\n" +
		"id: x\x00y\ndata: keeps s_1\n\n" +
		"data: unterminated"
	er := newEventReader(strings.NewReader(stream), 1<<20)
	type got struct {
		ev     event
		lastID string
	}
	var all []got
	for {
		ev, err := er.next()
		if err != nil {
			break
		}
		all = append(all, got{ev, er.lastID})
	}
	want := []got{
		{event{typ: "message", data: []byte("{\"a\":\n1}")}, "s_1"},
		{event{data: []byte(`{"b":2}`)}, "s_1"},
		{event{data: []byte("")}, "s_1"},
		{event{data: []byte("keeps s_1")}, "s_1"},
	}
	if len(all) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(all), all, len(want))
	}
	for i := range want {
		if all[i].ev.typ != want[i].ev.typ || string(all[i].ev.data) != string(want[i].ev.data) || all[i].lastID != want[i].lastID {
			t.Errorf("event %d = %+v, want %+v", i, all[i], want[i])
		}
	}
	if ms, ok := er.retryDelayMillis(1 << 30); !ok || ms != 2500 {
		t.Errorf("retry = %d %v, want 2500", ms, ok)
	}
}

// An event that never ends, or a line that never does, stops at the cap.
func TestReadEventsBounded(t *testing.T) {
	for name, stream := range map[string]string{
		"data lines": strings.Repeat("data: xxxxxxxxxx\n", 1000),
		"one line":   "data: " + strings.Repeat("x", 20000),
		"bare CRs":   strings.Repeat("data: x\r", 5000),
	} {
		er := newEventReader(strings.NewReader(stream), 1024)
		var err error
		for err == nil {
			_, err = er.next()
		}
		if err != errEventTooLarge {
			t.Errorf("%s: err = %v, want errEventTooLarge", name, err)
		}
	}
}

// Many small events, with any line ending, never add up against the cap.
func TestReadEventsCapPerEvent(t *testing.T) {
	for _, eol := range []string{"\n", "\r", "\r\n"} {
		er := newEventReader(strings.NewReader(strings.Repeat("data: x"+eol+eol, 5000)), 64)
		n := 0
		for {
			if _, err := er.next(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("eol %q: %v after %d events", eol, err, n)
				}
				break
			}
			n++
		}
		if n != 5000 {
			t.Errorf("eol %q: %d events, want 5000", eol, n)
		}
	}
}

func TestBackoff(t *testing.T) {
	if backoff(0) != time.Second || backoff(1) != 1500*time.Millisecond || backoff(100) != sseMaxDelay {
		t.Errorf("backoff: %v %v %v", backoff(0), backoff(1), backoff(100))
	}
}
