// Command xaad-testreport turns the event stream of `go test -json` into
// output as readable as plain `go test` (a line per package, the full
// output of every failed test, build errors), then counts the tests and
// lists every skipped one with its reason, so no skip goes unnoticed:
//
//	go test -json ./... 2>&1 | go run ./internal/cmd/xaad-testreport [-skips FILE]
//
// With -skips the skip list is appended to FILE instead, one
// "go test<TAB>package.Test<TAB>reason" line per skip, for scripts/test.sh
// to print at the end of the whole run. Under CI=true a skip that is not an
// opt-in (internal/testenv.OptIn) fails the run: in CI a test either runs
// or says it was asked not to.
//
// The exit status is 1 if a test, a package or a build failed, or a skip
// was refused under CI; 2 on a usage error.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	skips := flag.String("skips", "", "append the skip list to `FILE` instead of printing it")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go test -json ./... 2>&1 | xaad-testreport [-skips FILE]")
		os.Exit(2)
	}
	r := newReport(os.Stdout, os.Getenv("CI") == "true")
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-testreport: reading the go test output:", err)
		os.Exit(1)
	}
	if err := finish(r, *skips); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-testreport:", err)
		os.Exit(1)
	}
	if !r.ok() {
		os.Exit(1)
	}
}

// finish prints the counts and the skip list, or appends the list to the
// file named skips.
func finish(r *report, skips string) error {
	r.summary()
	if skips == "" {
		r.listSkips(os.Stdout)
		return nil
	}
	f, err := os.OpenFile(skips, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	r.writeSkips(f)
	return f.Close()
}
