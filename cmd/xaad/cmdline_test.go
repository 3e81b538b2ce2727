package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
)

// TestUsageUnchanged pins the usage text, now built from cmdline.Commands.
func TestUsageUnchanged(t *testing.T) {
	const want = `xaad: the enterprise MCP credential daemon

Usage:
  xaad run [flags]            run the daemon (what the systemd unit starts)
  xaad check-config [FILE]    validate a configuration file and explain every problem
  xaad demo [--serve]         run the whole flow against the built-in testbed
  xaad rekey                  re-seal the database under a new key (daemon stopped)
  xaad fleet-sim [flags]      simulate a fleet of daemons against the IdP's rate limits
  xaad version                print the version

Run 'xaad COMMAND --help' for the flags of a command.
`
	var out, errb bytes.Buffer
	if code := run([]string{"help"}, &out, &errb); code != 0 || out.String() != want {
		t.Errorf("xaad help: exit %d, got\n%s\nwant\n%s", code, out.String(), want)
	}
}

// TestEveryDocumentedCommandRuns checks that run dispatches each command
// of cmdline.Commands (which the man page and completions document) and
// that its --help is the documented help with the documented flags.
func TestEveryDocumentedCommandRuns(t *testing.T) {
	for _, c := range cmdline.Commands() {
		var out, errb bytes.Buffer
		code := run([]string{c.Name, "--help"}, &out, &errb)
		if code != 0 {
			t.Errorf("xaad %s --help: exit %d: %s", c.Name, code, errb.String())
			continue
		}
		if c.FlagSet == nil {
			continue
		}
		if !strings.HasPrefix(errb.String(), c.Help) {
			t.Errorf("xaad %s --help printed\n%s\nwant it to start with\n%s", c.Name, errb.String(), c.Help)
		}
		var defaults bytes.Buffer
		c.FlagSet(&defaults).PrintDefaults()
		if !strings.HasSuffix(errb.String(), defaults.String()) {
			t.Errorf("xaad %s --help does not list the flags of cmdline: got\n%s", c.Name, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"no-such-command"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
