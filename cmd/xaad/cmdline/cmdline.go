// Package cmdline holds the command line of xaad: its commands, their help
// texts and their flag sets. cmd/xaad parses with it and the documentation
// generator (internal/cmd/xaad-gendocs) writes the man page and the shell
// completions from it, so the two cannot drift apart. It imports no part of
// the daemon.
package cmdline

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Command is one xaad sub-command.
type Command struct {
	Name    string
	Args    string // what follows the name in the usage table, e.g. "[FILE]"
	Summary string
	// Help is what `xaad NAME --help` prints before the flags: a "Usage:"
	// line, then a description (and "Flags:" when there are flags).
	Help string
	// FlagSet returns the command's flags, reporting to w; nil for a
	// command without a flag set (version).
	FlagSet func(w io.Writer) *flag.FlagSet
}

// Commands returns xaad's commands in the order the usage lists them.
func Commands() []Command {
	return []Command{
		{"run", "[flags]", "run the daemon (what the systemd unit starts)", RunHelp,
			func(w io.Writer) *flag.FlagSet { fs, _ := RunFlags(w); return fs }},
		{"check-config", "[FILE]", "validate a configuration file and explain every problem", CheckConfigHelp,
			CheckConfigFlags},
		{"demo", "[--serve]", "run the whole flow against the built-in testbed", DemoHelp,
			func(w io.Writer) *flag.FlagSet { fs, _ := DemoFlags(w); return fs }},
		{"rekey", "", "re-seal the database under a new key (daemon stopped)", RekeyHelp,
			func(w io.Writer) *flag.FlagSet { fs, _ := RekeyFlags(w); return fs }},
		{"fleet-sim", "[flags]", "simulate a fleet of daemons against the IdP's rate limits", FleetSimHelp,
			func(w io.Writer) *flag.FlagSet { fs, _ := FleetSimFlags(w); return fs }},
		{"version", "", "print the version", "Usage: xaad version\n\nPrints the version.\n", nil},
	}
}

// Usage is what `xaad help` prints.
func Usage() string {
	var b strings.Builder
	b.WriteString("xaad: the enterprise MCP credential daemon\n\nUsage:\n")
	for _, c := range Commands() {
		syn := c.Name
		if c.Args != "" {
			syn += " " + c.Args
		}
		fmt.Fprintf(&b, "  xaad %-22s %s\n", syn, c.Summary)
	}
	b.WriteString("\nRun 'xaad COMMAND --help' for the flags of a command.\n")
	return b.String()
}

// newFlagSet returns a flag set that reports to w and prints help (a
// header, then the flags) there.
func newFlagSet(name, help string, w io.Writer, flags bool) *flag.FlagSet {
	fs := flag.NewFlagSet("xaad "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, help)
		if flags {
			fs.PrintDefaults()
		}
	}
	return fs
}

// RunHelp is the help of `xaad run`.
const RunHelp = "Usage: xaad run [flags]\n\nRuns the daemon in the foreground until SIGTERM or SIGINT. Under systemd, the\nxaad.socket unit starts it on the first connection.\n\nFlags:\n"

// RunOptions are the flags of `xaad run`.
type RunOptions struct {
	ConfigPath, SocketPath, StateDir, LogLevel string
	AllowRoot                                  bool
}

// RunFlags returns the flag set of `xaad run` and the options it fills.
func RunFlags(w io.Writer) (*flag.FlagSet, *RunOptions) {
	fs := newFlagSet("run", RunHelp, w, true)
	o := new(RunOptions)
	fs.StringVar(&o.ConfigPath, "config", "", "configuration file (default $XDG_CONFIG_HOME/xaad/config.toml, else /etc/xaad/config.toml)")
	fs.StringVar(&o.SocketPath, "socket", "", "Unix socket to serve (default $XAAD_SOCKET, else $XDG_RUNTIME_DIR/xaad/xaad.sock; ignored when systemd passes one)")
	fs.StringVar(&o.StateDir, "state-dir", "", "folder of the database (default $XDG_STATE_HOME/xaad)")
	fs.StringVar(&o.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	fs.BoolVar(&o.AllowRoot, "allow-root", false, "run even as root (containers, CI); xaad refuses root otherwise")
	return fs, o
}

// CheckConfigHelp is the help of `xaad check-config`.
const CheckConfigHelp = "Usage: xaad check-config [FILE]\n\nValidates FILE (default: the file `xaad run` reads, $XDG_CONFIG_HOME/xaad/config.toml,\nor /etc/xaad/config.toml when that is absent) with every check `xaad run` makes before\nit starts, and lists every problem found, each with its fix: unknown keys, missing or\nmalformed values, issuers that discovery cannot use, unreadable, world-readable or\nempty secret files, private keys that do not parse.\nExit status 0 when the file is valid, 1 otherwise.\n"

// CheckConfigFlags returns the flag set of `xaad check-config` (no flags).
func CheckConfigFlags(w io.Writer) *flag.FlagSet {
	return newFlagSet("check-config", CheckConfigHelp, w, false)
}

// DemoHelp is the help of `xaad demo`.
const DemoHelp = "Usage: xaad demo [--serve] [--dpop] [--state-dir DIR] [-v]\n\nStarts a local IdP, MCP authorization server and MCP server, runs a daemon on a\ntemporary socket, signs in, gets an access token through the gRPC API and calls an\nMCP tool with it, printing each step and its time. Nothing leaves this machine.\nWith --dpop the servers speak RFC 9449 and the token is bound to the daemon's key:\nevery request carries a proof the daemon signs, and a copied token is refused.\nThe packaged xaad (.deb, .rpm) has no demo: run it from the source with\ngo run ./cmd/xaad demo.\n\nFlags:\n"

// DemoOptions are the flags of `xaad demo`.
type DemoOptions struct {
	Serve, Verbose, DPoP bool
	StateDir             string
}

// DemoFlags returns the flag set of `xaad demo` and the options it fills.
func DemoFlags(w io.Writer) (*flag.FlagSet, *DemoOptions) {
	fs := newFlagSet("demo", DemoHelp, w, true)
	o := new(DemoOptions)
	fs.BoolVar(&o.Serve, "serve", false, "keep the testbed and the daemon running and print xaactl commands to try")
	fs.BoolVar(&o.Verbose, "v", false, "show the daemon's log")
	fs.BoolVar(&o.DPoP, "dpop", false, "sender-constrained tokens: DPoP (RFC 9449) at the IdP, the authorization server and the MCP server, with nonces, and dpop = \"required\"")
	fs.StringVar(&o.StateDir, "state-dir", "", "keep the daemon's database (and audit log) in this folder after the demo, its key in FOLDER.key beside it; default: a temporary folder, removed")
	return fs, o
}

// RekeyHelp is the help of `xaad rekey`.
const RekeyHelp = "Usage: xaad rekey [flags]\n\nRe-seals every value of the database under a fresh data key and replaces the old\nkey in its provider. Stop the daemon first. A systemd credential cannot be replaced\nby xaad: use --key-provider to move the key, or put a new key in the credential\nand start from an empty database.\n\nFlags:\n"

// RekeyOptions are the flags of `xaad rekey`.
type RekeyOptions struct {
	ConfigPath, StateDir, KeyProvider string
	AllowRoot                         bool
}

// RekeyFlags returns the flag set of `xaad rekey` and the options it fills.
func RekeyFlags(w io.Writer) (*flag.FlagSet, *RekeyOptions) {
	fs := newFlagSet("rekey", RekeyHelp, w, true)
	o := new(RekeyOptions)
	fs.StringVar(&o.ConfigPath, "config", "", "configuration file, as xaad run reads it (default $XDG_CONFIG_HOME/xaad/config.toml, else /etc/xaad/config.toml)")
	fs.StringVar(&o.StateDir, "state-dir", "", "folder of the database (default $XDG_STATE_HOME/xaad)")
	fs.StringVar(&o.KeyProvider, "key-provider", "", "move the key to this provider: keyring or file (default: keep it where it is)")
	fs.BoolVar(&o.AllowRoot, "allow-root", false, "run even as root (containers, CI)")
	return fs, o
}
