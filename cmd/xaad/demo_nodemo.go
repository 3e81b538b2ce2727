//go:build nodemo

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
)

// cmdDemo of a packaged build (-tags nodemo, scripts/package.sh): the demo
// runs on internal/testbed, an IdP and authorization server that mint
// tokens for anyone, which has no place in the binary installed on a
// user's machine. It says how to run the demo from the source instead.
func cmdDemo(_ context.Context, args []string, _, stderr io.Writer) int {
	fs, _ := cmdline.DemoFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fmt.Fprint(stderr, noDemo)
	return 1
}

const noDemo = `xaad demo: this build has no demo: packaged builds leave out the test IdP and
authorization server it runs on. Run the demo from the source, with Go 1.26:
  git clone https://github.com/xaad-dev/xaad && cd xaad && go run ./cmd/xaad demo
`
