// Command xaad-hostile is xaad's hostile-caller test as a program: it
// builds xaad and xaactl (or takes them from flags), runs every attack of
// internal/hostile against the built daemon and exits non-zero when a
// bound of docs/limits.md broke or a legitimate call failed. `go test
// ./internal/hostile/` runs the short form; this is for the long one:
//
//	go run ./internal/cmd/xaad-hostile -long
//
// It is also its own attacker binary: started with the attacker variable
// set, it runs one attacker and exits (hostile.MaybeChild).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/xaad-dev/xaad/internal/hostile"
)

func main() {
	hostile.MaybeChild()
	long := flag.Bool("long", false, "run every attack 6 times as long with 4 times the requests")
	only := flag.String("only", "", "comma-separated attacks to run (default all): "+names())
	xaad := flag.String("xaad", "", "the xaad binary (default: build it)")
	xaactl := flag.String("xaactl", "", "the xaactl binary (default: build it)")
	flag.Parse()
	if err := run(*long, *only, *xaad, *xaactl); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-hostile:", err)
		os.Exit(1)
	}
}

func run(long bool, only, xaad, xaactl string) error {
	cfg := hostile.Config{Xaad: xaad, Xaactl: xaactl}
	if xaad == "" || xaactl == "" {
		dir, err := os.MkdirTemp("", "xaad-hostile")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		built, err := hostile.Build(dir)
		if err != nil {
			return err
		}
		cfg.Xaad, cfg.Xaactl = firstOf(xaad, built.Xaad), firstOf(xaactl, built.Xaactl)
	}
	cfg.Long, cfg.Log = long, os.Stdout
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	r, err := hostile.Run(cfg)
	if err != nil {
		return err
	}
	fmt.Print(r.Summary())
	for _, v := range r.Violations {
		fmt.Println("VIOLATION:", v)
	}
	if len(r.Violations) > 0 {
		return fmt.Errorf("%d bounds broken", len(r.Violations))
	}
	return nil
}

func names() string {
	var n []string
	for _, a := range hostile.Attacks() {
		n = append(n, a.Name)
	}
	return strings.Join(n, ", ")
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
