package auditlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// MaxLine is the longest line [Reader] decodes. Records this version
// writes are far shorter ([MaxRecord]); older versions stored requests
// uncut, up to the 4 MiB a gRPC message may carry.
const MaxLine = 16 << 20

// Reader reads the records of one audit file in order. A line that is not
// a record (a torn last line after a crash, a damaged or hand-edited file)
// or is longer than MaxLine is skipped and counted, never an error, so a
// bad line costs only itself. Memory stays within MaxLine whatever the
// input.
type Reader struct {
	br      *bufio.Reader
	max     int // MaxLine; smaller in tests
	line    []byte
	skipped int
}

// NewReader reads records from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: MaxLine}
}

// Next returns the next record, or io.EOF after the last one. Any other
// error comes from the underlying reader.
func (r *Reader) Next() (Event, error) {
	for {
		line, err := r.readLine()
		if len(line) > 0 {
			var ev Event
			if decodeLine(line, &ev) {
				return ev, nil
			}
			r.skipped++
		}
		if err != nil {
			return Event{}, err
		}
	}
}

// Skipped is the number of lines skipped so far (not records, or too long).
func (r *Reader) Skipped() int { return r.skipped }

// readLine returns the next line without its newline; an over-long line is
// read to its end and dropped (counted as skipped).
func (r *Reader) readLine() ([]byte, error) {
	for {
		r.line = r.line[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = r.br.ReadSlice('\n')
			if !tooLong && len(r.line)+len(chunk) <= r.max+1 {
				r.line = append(r.line, chunk...)
			} else {
				tooLong, r.line = true, r.line[:0]
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if !tooLong {
			return bytes.TrimSuffix(r.line, []byte("\n")), err
		}
		r.skipped++
		if err != nil {
			return nil, err
		}
	}
}

// decodeLine parses one record: a JSON object and nothing else.
func decodeLine(line []byte, ev *Event) bool {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(ev); err != nil {
		return false
	}
	// Trailing data means the line is not one record (two glued together
	// by damage): do not pretend it was.
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}
