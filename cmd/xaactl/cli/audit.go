package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

const auditHelp = `Usage: xaactl audit [--server URL] [--since D] [--state-dir DIR] [--json]

Show the daemon's audit log: who (pid, uid, executable) asked for what (the
operation and MCP server), the outcome, and a short fingerprint of each
token handed out (the first 8 hex digits of its SHA-256; never the token).
Oldest first. The log is read directly from the daemon's state folder, so
this works while the daemon is stopped.

--since takes a duration (24h, 90m), "today" (since local midnight) or a
date and time (2026-11-26 or 2026-11-26T09:00:00Z).

Examples:
  xaactl audit --server https://mcp.example.com/mcp --since today
  xaactl audit --json | jq -r 'select(.outcome=="denied") | .caller.exe'
`

// auditEvent is one line of the audit log. It mirrors daemon.AuditEvent,
// whose fields are only ever added; xaactl keeps its own copy so that it
// links none of the daemon.
type auditEvent struct {
	Time      time.Time `json:"time"`
	Operation string    `json:"op"`
	Server    string    `json:"server,omitempty"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	Caller    struct {
		PID      int32  `json:"pid"`
		UID      uint32 `json:"uid"`
		Exe      string `json:"exe,omitempty"`
		SHA256   string `json:"exe_sha256,omitempty"`
		ExeError string `json:"exe_error,omitempty"`
	} `json:"caller"`
	TokenFP string `json:"token_fp,omitempty"`
}

// auditFile and auditKeep match the daemon's rotation (daemon/audit.go).
const (
	auditFile = "audit.jsonl"
	auditKeep = 5
)

type auditOpts struct {
	server   string
	since    time.Time
	stateDir string
	json     bool
}

func parseAudit(args []string, now time.Time) (auditOpts, error) {
	fs := newFlagSet("audit")
	var o auditOpts
	var since string
	fs.StringVar(&o.server, "server", "", "only events for this MCP server URL")
	fs.StringVar(&since, "since", "", "only events since: a duration (24h), today, or a date/time")
	fs.StringVar(&o.stateDir, "state-dir", "", "the daemon's state folder (default $XDG_STATE_HOME/xaad)")
	fs.BoolVar(&o.json, "json", false, "print the events as JSON lines, as stored")
	pos, err := parse(fs, args, auditHelp)
	if err != nil {
		return o, err
	}
	if since != "" {
		if o.since, err = parseSince(since, now); err != nil {
			return o, usagef(err.Error())
		}
	}
	return o, wantArgs(pos)
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "today" {
		y, m, d := now.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, now.Location()), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (24h), today, or a date (2006-01-02) or RFC 3339 time", s)
}

func runAudit(_ context.Context, e *env, args []string) error {
	o, err := parseAudit(args, time.Now())
	if err != nil {
		return err
	}
	dir := o.stateDir
	if dir == "" {
		if dir, err = defaultStateDir(); err != nil {
			return err
		}
	}
	events, err := readAudit(dir, o)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		for _, ev := range events {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	}
	return renderAudit(e.stdout, events)
}

// defaultStateDir is the daemon's default (daemon.resolveStateDir).
func defaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "xaad"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the state folder: set XDG_STATE_HOME or --state-dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "xaad"), nil
}

// readAudit reads the rotated files oldest first, then the current one.
// A line that does not parse (a torn last line after a crash) is skipped.
func readAudit(dir string, o auditOpts) ([]auditEvent, error) {
	var events []auditEvent
	found := false
	for i := auditKeep; i >= 0; i-- {
		name := filepath.Join(dir, auditFile)
		if i > 0 {
			name = fmt.Sprintf("%s.%d", name, i)
		}
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		err = scanAudit(f, o, func(ev auditEvent) { events = append(events, ev) })
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("no audit log in %s (is this the daemon's state folder? see --state-dir)", dir)
	}
	return events, nil
}

func scanAudit(r io.Reader, o auditOpts, add func(auditEvent)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev auditEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		if o.server != "" && ev.Server != o.server {
			continue
		}
		if !o.since.IsZero() && ev.Time.Before(o.since) {
			continue
		}
		add(ev)
	}
	return sc.Err()
}

func renderAudit(w io.Writer, events []auditEvent) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOPERATION\tSERVER\tOUTCOME\tPID\tUID\tEXECUTABLE\tTOKEN")
	for _, ev := range events {
		outcome := ev.Outcome
		if ev.Reason != "" {
			outcome += " (" + ev.Reason + ")"
		}
		exe := ev.Caller.Exe
		if exe == "" && ev.Caller.ExeError != "" {
			exe = "? " + ev.Caller.ExeError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", ev.Time.Local().Format("2006-01-02 15:04:05"),
			ev.Operation, dash(ev.Server), outcome, ev.Caller.PID, ev.Caller.UID, dash(strings.TrimSpace(exe)), dash(ev.TokenFP))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
