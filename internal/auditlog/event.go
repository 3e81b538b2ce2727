// Package auditlog is the format of xaad's audit log: the daemon writes
// it (daemon/audit.go) and `xaactl audit` reads it, both through this
// package, so the two cannot drift apart.
//
// The log is JSON Lines: one [Event] per line, in audit.jsonl of the state
// folder, rotated to audit.jsonl.1 (newest) ... audit.jsonl.5. Fields are
// only ever added. Every text field is escaped before it is stored
// ([Escape]): a record holds no control character, so it is always exactly
// one line, and printing it cannot drive a terminal; long values are cut
// with a marker, so a record never exceeds [MaxRecord].
package auditlog

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// File is the audit log in the state folder; older entries rotate to
// File.1 (newest) ... File.<Keep> (oldest).
const File = "audit.jsonl"

// Keep is how many rotated files are kept.
const Keep = 5

// Outcomes of an event.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// Event is one record: who asked for what and how it went. It holds a
// short fingerprint of a token handed out (the first 8 hex digits of its
// SHA-256), never the token.
type Event struct {
	Time      time.Time `json:"time"`
	Operation string    `json:"op"`
	Server    string    `json:"server,omitempty"`
	Outcome   string    `json:"outcome"` // OutcomeOK, OutcomeDenied or OutcomeError
	Reason    string    `json:"reason,omitempty"`
	Caller    Caller    `json:"caller"`
	TokenFP   string    `json:"token_fp,omitempty"`
	// Target is the origin a DPoP proof was signed for (its htu's scheme,
	// host and port); never the proof.
	Target string `json:"target,omitempty"`
	// Repeated, when above 1, says this record stands for that many
	// events equal to it but for their times, folded into one because
	// their caller exceeded its share of the log; Since is the time of the
	// first of them and Time of the last.
	Repeated int       `json:"repeated,omitempty"`
	Since    time.Time `json:"since,omitzero"`
}

// Caller is the calling process as the daemon saw it at accept.
type Caller struct {
	PID    int32  `json:"pid"`
	UID    uint32 `json:"uid"`
	Exe    string `json:"exe,omitempty"`
	SHA256 string `json:"exe_sha256,omitempty"`
	// ExeError says why Exe is missing (the caller exited first, ...).
	ExeError string `json:"exe_error,omitempty"`
}

// Field limits, in bytes of escaped text, marker included. Any value
// that came from a caller or the network is cut to these before it is
// stored; together they bound [MaxRecord].
const (
	maxOperation = 64
	maxServer    = 2048
	maxOutcome   = 32
	maxReason    = 256
	maxTokenFP   = 32
	maxTarget    = 512
	maxExe       = 1024
	maxSHA256    = 80
	maxExeError  = 512
)

// MaxRecord bounds the length of one encoded record, newline included:
// twice the field limits (JSON doubles at most each byte of escaped text,
// a backslash or a quote) plus the keys, numbers and times.
const MaxRecord = 2*(maxOperation+maxServer+maxOutcome+maxReason+maxTokenFP+maxTarget+maxExe+maxSHA256+maxExeError) + 512

// Clean returns ev as it is stored: every text field escaped ([Escape])
// and cut to its limit.
func (ev Event) Clean() Event {
	ev.Operation = Escape(ev.Operation, maxOperation)
	ev.Server = Escape(ev.Server, maxServer)
	ev.Outcome = Escape(ev.Outcome, maxOutcome)
	ev.Reason = Escape(ev.Reason, maxReason)
	ev.TokenFP = Escape(ev.TokenFP, maxTokenFP)
	ev.Target = Escape(ev.Target, maxTarget)
	ev.Caller.Exe = Escape(ev.Caller.Exe, maxExe)
	ev.Caller.SHA256 = Escape(ev.Caller.SHA256, maxSHA256)
	ev.Caller.ExeError = Escape(ev.Caller.ExeError, maxExeError)
	return ev
}

// Printable returns ev safe to show: any character that could move the
// cursor, end a line or drive a terminal is escaped ([Printable]). It
// leaves a record the daemon wrote unchanged; it matters for files written
// by older versions or edited by hand.
func (ev Event) Printable() Event {
	ev.Operation = Printable(ev.Operation)
	ev.Server = Printable(ev.Server)
	ev.Outcome = Printable(ev.Outcome)
	ev.Reason = Printable(ev.Reason)
	ev.TokenFP = Printable(ev.TokenFP)
	ev.Target = Printable(ev.Target)
	ev.Caller.Exe = Printable(ev.Caller.Exe)
	ev.Caller.SHA256 = Printable(ev.Caller.SHA256)
	ev.Caller.ExeError = Printable(ev.Caller.ExeError)
	return ev
}

// Path is file i of the log in dir: File for 0, then File.1 (the newest
// rotated) ... File.<Keep> (the oldest).
func Path(dir string, i int) string {
	p := filepath.Join(dir, File)
	if i > 0 {
		p += "." + strconv.Itoa(i)
	}
	return p
}

// History is the files of the log in dir that exist, oldest first, so
// reading them in order reads the records in the order they were written.
func History(dir string) ([]string, error) {
	var out []string
	for i := Keep; i >= 0; i-- {
		p := Path(dir, i)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
