package main

import (
	"bytes"
	"strings"
	"testing"
)

// Whatever the stream holds, the report ends with nothing held back, and
// every line that is not an event is printed as it came.
func FuzzReport(f *testing.F) {
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T"}` + "\n" + `{"Action":"output","Package":"p","Test":"T","Output":"x\n"}` + "\n" + `{"Action":"fail","Package":"p","Test":"T"}` + "\n"))
	f.Add([]byte("# p\nsome error from the go command\n{\"Action\":\"skip\",\"Package\":\"p\",\"Test\":\"T\"}\n"))
	f.Add([]byte(`{"Action":"output","Package":"p","Test":"T/s","Output":"=== RUN T/s\n"}` + "\n{not json\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		var out bytes.Buffer
		r := newReport(&out, true)
		if err := r.read(bytes.NewReader(stream)); err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(r.running) != 0 || r.heldSize != 0 {
			t.Fatalf("after the stream: %d tests and %d bytes still held", len(r.running), r.heldSize)
		}
		for _, l := range strings.Split(string(stream), "\n") {
			l = strings.TrimSuffix(l, "\r") // a CRLF line ends before its CR
			if l != "" && l[0] != '{' && !strings.Contains(out.String(), l) {
				t.Fatalf("line %q was not printed", l)
			}
		}
	})
}
