package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/paths"
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
	fs.StringVar(&o.stateDir, "state-dir", "", "the daemon's state folder (default $XDG_STATE_HOME/xaad, else ~/.local/state/xaad)")
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
		// Where the daemon keeps it (internal/paths, as the daemon asks).
		if dir, err = paths.StateDir(); err != nil {
			return err
		}
	}
	events, err := readAudit(dir, o, e.stderr)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		for _, ev := range events {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	}
	return renderAudit(e.stdout, events)
}

// readAudit reads the rotated files oldest first, then the current one.
// A line that is not a record (a torn last line after a crash) is skipped
// and counted on warn. Every event comes back printable: whatever a file
// holds, nothing of it can drive the terminal.
func readAudit(dir string, o auditOpts, warn io.Writer) ([]auditlog.Event, error) {
	files, err := auditlog.History(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no audit log in %s (is this the daemon's state folder? see --state-dir)", dir)
	}
	var events []auditlog.Event
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		skipped, err := scanAudit(f, o, func(ev auditlog.Event) { events = append(events, ev.Printable()) })
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if skipped > 0 {
			fmt.Fprintf(warn, "xaactl audit: %s: skipped %d lines that are not audit records (a line cut by a crash, or damage)\n", name, skipped)
		}
	}
	return events, nil
}

func scanAudit(r io.Reader, o auditOpts, add func(auditlog.Event)) (skipped int, err error) {
	ar := auditlog.NewReader(r)
	for {
		ev, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return ar.Skipped(), nil
		}
		if err != nil {
			return ar.Skipped(), err
		}
		if o.server != "" && ev.Server != o.server {
			continue
		}
		if !o.since.IsZero() && ev.Time.Before(o.since) {
			continue
		}
		add(ev)
	}
}

func renderAudit(w io.Writer, events []auditlog.Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOPERATION\tSERVER\tOUTCOME\tPID\tUID\tEXECUTABLE\tTOKEN")
	for _, ev := range events {
		outcome := ev.Outcome
		if ev.Reason != "" {
			outcome += " (" + ev.Reason + ")"
		}
		if ev.Repeated > 1 {
			outcome += fmt.Sprintf(" ×%d since %s", ev.Repeated, ev.Since.Local().Format("15:04:05"))
		}
		exe := ev.Caller.Exe
		if exe == "" && ev.Caller.ExeError != "" {
			exe = "? " + ev.Caller.ExeError
		}
		token := dash(ev.TokenFP)
		if ev.Target != "" {
			token += " (DPoP proof for " + ev.Target + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", ev.Time.Local().Format("2006-01-02 15:04:05"),
			ev.Operation, dash(ev.Server), outcome, ev.Caller.PID, ev.Caller.UID, dash(strings.TrimSpace(exe)), token)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
