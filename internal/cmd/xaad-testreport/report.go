package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output events
}

// Bounds on what is held back while a test runs: a test's output is
// printed only if it fails, and a runaway test must not exhaust memory.
// The raw stream (scripts/test.sh keeps it in .cache/gotest.json) has all.
const (
	maxTestOutput  = 1 << 20  // bytes kept per running test: head and tail
	maxHeldOutput  = 64 << 20 // bytes kept over all running tests
	maxLine        = 16 << 20 // longest input line read
	optInPrefix    = "opt-in: "
	skipVerdict    = "--- SKIP: "
	truncationNote = "    [xaad-testreport: %d bytes left out here; the go test -json log has them]\n"
)

// skip is a skipped test and why.
type skip struct{ pkg, test, reason string }

// held is the output of a running test: its beginning, and once that is
// full, its most recent lines (a failure message is usually last).
type held struct {
	head     strings.Builder
	tail     []string
	tailSize int
	dropped  int // bytes between head and tail
}

func (h *held) size() int { return h.head.Len() + h.tailSize }

func (h *held) add(s string) {
	if h.tail == nil && h.head.Len()+len(s) <= maxTestOutput/2 {
		h.head.WriteString(s)
		return
	}
	h.tail = append(h.tail, s)
	h.tailSize += len(s)
	for h.tailSize > maxTestOutput/2 && len(h.tail) > 0 {
		h.tailSize -= len(h.tail[0])
		h.dropped += len(h.tail[0])
		h.tail = h.tail[1:]
	}
}

func (h *held) String() string {
	var b strings.Builder
	b.WriteString(h.head.String())
	if h.dropped > 0 {
		fmt.Fprintf(&b, truncationNote, h.dropped)
	}
	for _, l := range h.tail {
		b.WriteString(l)
	}
	return b.String()
}

// report reads the events and keeps the counts.
type report struct {
	out      io.Writer
	ci       bool
	running  map[string]*held // by package + " " + test
	heldSize int
	skips    []skip
	refused  []skip // skips that CI does not accept
	passed   int
	failed   []string // package.Test, or a package whose binary failed
}

func newReport(out io.Writer, ci bool) *report {
	return &report{out: out, ci: ci, running: map[string]*held{}}
}

// read consumes the stream. A line that is not an event (stderr of the go
// command, merged in) is printed as it is.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			fmt.Fprintf(r.out, "%s\n", line)
			continue
		}
		r.add(ev)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	r.unfinished()
	return nil
}

func (r *report) add(ev event) {
	key := ev.Package + " " + ev.Test
	switch {
	case ev.Action == "build-output":
		io.WriteString(r.out, ev.Output)
	case ev.Test == "":
		r.packageEvent(ev)
	case ev.Action == "run":
		r.running[key] = &held{}
	case ev.Action == "output":
		r.hold(key, ev.Output)
	case ev.Action == "pass":
		r.passed++
		r.release(key)
	case ev.Action == "skip":
		r.skipped(ev, r.release(key))
	case ev.Action == "fail":
		r.failed = append(r.failed, ev.Package+"."+ev.Test)
		io.WriteString(r.out, r.release(key))
	}
}

// packageEvent prints the package's own lines ("ok  pkg 1.2s", "FAIL
// pkg", a panic outside any test) as plain go test does.
func (r *report) packageEvent(ev event) {
	switch ev.Action {
	case "output":
		if ev.Output != "PASS\n" {
			io.WriteString(r.out, ev.Output)
		}
	case "fail":
		r.failed = append(r.failed, ev.Package)
	}
}

// hold keeps a running test's output, without the progress lines.
func (r *report) hold(key, out string) {
	h, ok := r.running[key]
	if !ok { // output before "run": the stream is odd, keep it anyway
		h = &held{}
		r.running[key] = h
	}
	if progressLine(out) {
		return
	}
	if r.heldSize+len(out) > maxHeldOutput {
		h.dropped += len(out) // shown as left out, after the head
		if h.tail == nil {
			h.tail = []string{} // later lines go after the note
		}
		return
	}
	before := h.size()
	h.add(out)
	r.heldSize += h.size() - before
}

func progressLine(s string) bool {
	t := strings.TrimLeft(s, " ")
	for _, p := range []string{"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// release forgets a finished test and returns what it printed.
func (r *report) release(key string) string {
	h, ok := r.running[key]
	if !ok {
		return ""
	}
	delete(r.running, key)
	r.heldSize -= h.size()
	return h.String()
}

// skipped records a skip with the lines the test printed before it (the
// t.Skip message among them).
func (r *report) skipped(ev event, out string) {
	var reason []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, skipVerdict) {
			reason = append(reason, l)
		}
	}
	s := skip{pkg: ev.Package, test: ev.Test, reason: strings.Join(reason, " / ")}
	if s.reason == "" {
		s.reason = "(no reason given)"
	}
	r.skips = append(r.skips, s)
	if r.ci && !strings.Contains(s.reason, optInPrefix) {
		r.refused = append(r.refused, s)
	}
}

// unfinished prints the output of tests that never ended: their binary
// crashed or timed out, and what they printed is the clue.
func (r *report) unfinished() {
	keys := make([]string, 0, len(r.running))
	for k := range r.running {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out := r.release(k)
		fmt.Fprintf(r.out, "--- %s never finished; its output:\n%s", k, out)
		r.failed = append(r.failed, strings.Replace(k, " ", ".", 1))
	}
}

func (r *report) ok() bool { return len(r.failed) == 0 && len(r.refused) == 0 }

// summary prints the counts, the failed tests and the refused skips.
func (r *report) summary() {
	fmt.Fprintf(r.out, "\ngo test: %d passed, %d failed, %d skipped\n", r.passed, len(r.failed), len(r.skips))
	for _, f := range r.failed {
		fmt.Fprintf(r.out, "  FAIL %s\n", f)
	}
	for _, s := range r.refused {
		fmt.Fprintf(r.out, "  FAIL %s.%s skipped under CI=true without internal/testenv.OptIn (use testenv.Tool or testenv.Root for a need): %s\n", s.pkg, s.test, s.reason)
	}
}

// listSkips prints the skips for a person.
func (r *report) listSkips(w io.Writer) {
	if len(r.skips) == 0 {
		fmt.Fprintln(w, "no test was skipped")
		return
	}
	fmt.Fprintln(w, "skipped:")
	for _, s := range r.skips {
		fmt.Fprintf(w, "  %s.%s: %s\n", s.pkg, s.test, s.reason)
	}
}

// writeSkips writes the skips as tab-separated lines for scripts/test.sh.
func (r *report) writeSkips(w io.Writer) {
	for _, s := range r.skips {
		fmt.Fprintf(w, "go test\t%s.%s\t%s\n", s.pkg, s.test, strings.ReplaceAll(s.reason, "\t", " "))
	}
}
