package auditlog

import (
	"bytes"
	"encoding/json"
)

// Encode returns the stored form of ev: [Event.Clean], as one JSON line
// ending in a newline, at most [MaxRecord] bytes.
func Encode(ev Event) []byte { return EncodeClean(ev.Clean()) }

// EncodeClean is Encode of an event [Event.Clean] returned, for a writer
// that keeps the cleaned event too; cleaning twice would escape twice.
func EncodeClean(ev Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// <, > and & are printable and harmless in a log; escaping them would
	// only make URLs harder to read.
	enc.SetEscapeHTML(false)
	// Strings, numbers and times only: encoding cannot fail.
	_ = enc.Encode(ev)
	return buf.Bytes()
}
