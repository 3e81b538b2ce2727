package bridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// event is one dispatched server-sent event.
type event struct {
	// typ is the event type; "" stands for the default, "message".
	typ  string
	data []byte
}

// errEventTooLarge reports an event (or a line) over the reader's cap.
var errEventTooLarge = errors.New("server-sent event too large")

// eventReader parses a text/event-stream as the HTML Living Standard,
// "Server-sent events" §9.2.6 (Interpreting an event stream), says, with one
// addition: it holds at most max bytes of an event (its data, type and id
// buffers plus the line being read), so a server that never ends an event
// or a line cannot make it grow without bound.
//
// The standard's rules it follows: one leading U+FEFF BOM is skipped; lines
// end with CRLF, LF or a bare CR; an empty line dispatches the event; a line
// starting with ':' is a comment; "field:value" loses one space after the
// colon, a line without a colon is a field with an empty value; "data"
// appends its value and an LF to the data buffer; "event" sets the type;
// "id" sets the last event ID buffer unless the value holds a NUL; "retry"
// with only ASCII digits sets the reconnection time; other fields are
// ignored. Dispatch copies the ID buffer to the last event ID (which is not
// reset, so it carries over to later events), and fires an event only when
// the data buffer is not empty, without its final LF. At the end of the
// stream an unfinished line and event are discarded. Bytes are passed
// through undecoded: the line structure is ASCII, and UTF-8 decoding never
// adds or removes an ASCII byte, so decoding the fields afterwards gives
// what decoding the stream first would.
type eventReader struct {
	r   *bufio.Reader
	max int

	started bool // the BOM check is done
	skipLF  bool // the last line ended with CR: an LF right after belongs to it

	data  bytes.Buffer // every "data" field adds its value and an LF
	typ   []byte
	idBuf []byte

	// lastID is the last event ID string, updated at every dispatch;
	// retry is the last valid "retry" value, in its decimal form.
	lastID string
	retry  string
}

func newEventReader(r io.Reader, max int) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(r, 16<<10), max: max}
}

// next returns the next event with data. It returns io.EOF at the end of
// the stream, errEventTooLarge when an event grows past the cap, or the
// reader's error.
func (e *eventReader) next() (event, error) {
	if !e.started {
		e.started = true
		if b, err := e.r.Peek(3); err == nil && bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
			e.r.Discard(3)
		}
	}
	for {
		line, err := e.line()
		if err != nil {
			return event{}, err
		}
		if len(line) == 0 {
			if ev, ok := e.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		e.field(line)
	}
}

// retained is what the event holds so far.
func (e *eventReader) retained() int { return e.data.Len() + len(e.typ) + len(e.idBuf) }

// line reads one line without its ending.
func (e *eventReader) line() ([]byte, error) {
	var line []byte
	for {
		buf, err := e.r.Peek(1)
		if err != nil {
			return nil, eofIsEnd(err)
		}
		if e.skipLF {
			e.skipLF = false
			if buf[0] == '\n' {
				e.r.Discard(1)
				continue
			}
		}
		buf, _ = e.r.Peek(e.r.Buffered())
		if i := bytes.IndexAny(buf, "\r\n"); i >= 0 {
			if e.retained()+len(line)+i > e.max {
				return nil, errEventTooLarge
			}
			line = append(line, buf[:i]...)
			e.skipLF = buf[i] == '\r'
			e.r.Discard(i + 1)
			return line, nil
		}
		if e.retained()+len(line)+len(buf) > e.max {
			return nil, errEventTooLarge
		}
		line = append(line, buf...)
		e.r.Discard(len(buf))
	}
}

// eofIsEnd turns the end of the stream, which discards an unfinished line,
// into io.EOF.
func eofIsEnd(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return err
}

func (e *eventReader) field(line []byte) {
	if line[0] == ':' {
		return // a comment
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if found {
		value = bytes.TrimPrefix(value, []byte(" "))
	}
	switch string(name) {
	case "event":
		e.typ = append(e.typ[:0], value...)
	case "data":
		e.data.Write(value)
		e.data.WriteByte('\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			e.idBuf = append(e.idBuf[:0], value...)
		}
	case "retry":
		if len(value) > 0 && allDigits(value) {
			e.retry = string(value)
		}
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// dispatch ends the event: it sets the last event ID and returns the event
// if it has data, and resets the data and type buffers either way.
func (e *eventReader) dispatch() (event, bool) {
	e.lastID = string(e.idBuf)
	defer func() {
		e.data.Reset()
		e.typ = e.typ[:0]
	}()
	if e.data.Len() == 0 {
		return event{}, false
	}
	data := bytes.TrimSuffix(e.data.Bytes(), []byte("\n"))
	return event{typ: string(e.typ), data: bytes.Clone(data)}, true
}

// retryDelayMillis returns the stream's reconnection time in milliseconds,
// capped at max, and whether the stream set one.
func (e *eventReader) retryDelayMillis(max int64) (int64, bool) {
	if e.retry == "" {
		return 0, false
	}
	var n int64
	for _, c := range []byte(e.retry) {
		n = n*10 + int64(c-'0')
		if n > max {
			return max, true
		}
	}
	return n, true
}

func (ev event) String() string { return fmt.Sprintf("event{%q %d bytes}", ev.typ, len(ev.data)) }
