package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/daemon"
)

func cmdRekey(args []string, stdout, stderr io.Writer) int {
	fs, ro := cmdline.RekeyFlags(stderr)
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
	if err := harden(os.Geteuid(), ro.AllowRoot); err != nil {
		fmt.Fprintln(stderr, "xaad rekey:", err)
		return 1
	}
	o := daemon.RekeyOptions{ConfigPath: ro.ConfigPath, StateDir: ro.StateDir, KeyProvider: ro.KeyProvider}
	res, err := daemon.Rekey(o)
	if err != nil {
		fmt.Fprintln(stderr, "xaad rekey:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: re-sealed under key %s (in the %s); the old key %s (in the %s) no longer opens it\n",
		res.Path, res.NewKeyID, res.NewSource, res.OldKeyID, res.OldSource)
	return 0
}
