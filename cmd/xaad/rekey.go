package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/xaad-dev/xaad/daemon"
)

func cmdRekey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xaad rekey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o daemon.RekeyOptions
	fs.StringVar(&o.ConfigPath, "config", "", "configuration file (default $XDG_CONFIG_HOME/xaad/config.toml)")
	fs.StringVar(&o.StateDir, "state-dir", "", "folder of the database (default $XDG_STATE_HOME/xaad)")
	fs.StringVar(&o.KeyProvider, "key-provider", "", "move the key to this provider: keyring or file (default: keep it where it is)")
	allowRoot := fs.Bool("allow-root", false, "run even as root (containers, CI)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: xaad rekey [flags]\n\nRe-seals every value of the database under a fresh data key and replaces the old\nkey in its provider. Stop the daemon first. A systemd credential cannot be replaced\nby xaad: use --key-provider to move the key, or put a new key in the credential\nand start from an empty database.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xaad rekey: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := harden(os.Geteuid(), *allowRoot); err != nil {
		fmt.Fprintln(stderr, "xaad rekey:", err)
		return 1
	}
	res, err := daemon.Rekey(o)
	if err != nil {
		fmt.Fprintln(stderr, "xaad rekey:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: re-sealed under key %s (in the %s); the old key %s (in the %s) no longer opens it\n",
		res.Path, res.NewKeyID, res.NewSource, res.OldKeyID, res.OldSource)
	return 0
}
