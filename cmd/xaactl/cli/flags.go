package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// stringList is a flag that may be repeated: --scope a --scope b.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// helpError is what parsing returns for --help: Main prints the help on
// stdout and exits 0.
type helpError struct {
	fs   *flag.FlagSet
	text string
}

func (h *helpError) Error() string { return "help requested" }

// newFlagSet returns a flag set that prints nothing itself: parse reports
// errors, and help goes where the caller asks.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags given before, between or after positional arguments
// (`token URL --scope x` as well as `token --scope x URL`), because the
// standard flag package stops at the first positional argument. "--" ends
// the flags. It returns the positional arguments, or a *helpError carrying
// help for --help.
func parse(fs *flag.FlagSet, args []string, help string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpError{fs: fs, text: help}
			}
			return nil, usagef(err.Error())
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, names ...string) error {
	if len(pos) < len(names) {
		return usagef("missing " + strings.Join(names[len(pos):], " "))
	}
	if len(pos) > len(names) {
		return usagef(fmt.Sprintf("unexpected argument %q", pos[len(names)]))
	}
	return nil
}

// noArgs parses the command line of a command that takes neither flags
// nor arguments.
func noArgs(name, help string) func([]string) (struct{}, error) {
	return func(args []string) (struct{}, error) {
		pos, err := parse(newFlagSet(name), args, help)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, wantArgs(pos)
	}
}

// printHelp writes a command's help text and then its flags, spelled with
// two dashes as the docs use them (the flag package accepts both).
func printHelp(w io.Writer, fs *flag.FlagSet, text string) {
	fmt.Fprint(w, text)
	if fs == nil {
		return
	}
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if arg != "" {
			fmt.Fprintf(&b, " %s", arg)
		}
		fmt.Fprintf(&b, "\n        %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
}
