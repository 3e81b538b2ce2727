// Package cmddoc describes a command line (commands, their help texts and
// flags, read from the programs' own flag sets) and writes it as a roff man
// page and as bash, zsh and fish completions. The CLIs export their
// definitions as a Page (cmd/xaactl/cli.Docs, cmd/xaad/cmdline) and
// internal/cmd/xaad-gendocs writes the files the packages install.
package cmddoc

import (
	"flag"
	"sort"
	"strings"
)

// Flag is one flag of a flag set.
type Flag struct {
	Name    string // without dashes
	Arg     string // the value's name (flag.UnquoteUsage); empty for a boolean flag
	Usage   string
	Default string // empty when it is the zero value
}

// Spelling is the flag as the docs write it: -v for a one-letter flag,
// --name otherwise (the flag package accepts one or two dashes).
func (f Flag) Spelling() string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

// TakesValue tells whether the flag reads the next argument.
func (f Flag) TakesValue() bool { return f.Arg != "" }

// FlagsOf lists the flags of fs, sorted by name.
func FlagsOf(fs *flag.FlagSet) []Flag {
	if fs == nil {
		return nil
	}
	var out []Flag
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		if def == "false" || def == "0s" || def == "0" {
			def = ""
		}
		out = append(out, Flag{Name: f.Name, Arg: arg, Usage: usage, Default: def})
	})
	return out
}

// Command is one sub-command.
type Command struct {
	Name     string
	Summary  string   // one line
	Synopsis []string // the "Usage:" lines of its help, program name included
	Body     string   // the rest of its help text
	Flags    []Flag
	// Subcommands of a command like `xaactl server` (add, ls, rm).
	Subcommands []Command
}

// FromHelp fills Synopsis and Body from a help text of the form
// "Usage: prog cmd ARGS\n       prog cmd other\n\nDescription...". A
// trailing "Flags:" line (the flag list follows it) is dropped, and so is
// a suffix equal to strip (text documented elsewhere, such as the exit
// codes).
func (c *Command) FromHelp(help, strip string) {
	if strip != "" {
		help = strings.TrimSuffix(help, strip)
	}
	lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		switch {
		case i == 0 && strings.HasPrefix(l, "Usage:"):
			c.Synopsis = append(c.Synopsis, strings.TrimSpace(strings.TrimPrefix(l, "Usage:")))
			continue
		case i > 0 && len(c.Synopsis) > 0 && strings.TrimSpace(l) != "" && strings.HasPrefix(l, " "):
			c.Synopsis = append(c.Synopsis, strings.TrimSpace(l))
			continue
		}
		break
	}
	body := lines[i:]
	if n := len(body); n > 0 && strings.TrimSpace(body[n-1]) == "Flags:" {
		body = body[:n-1]
	}
	c.Body = strings.Trim(strings.Join(body, "\n"), "\n")
}

// ExitStatus is one exit code and its meaning.
type ExitStatus struct {
	Code    string
	Meaning string
}

// Item is a named entry of ENVIRONMENT or FILES.
type Item struct {
	Name, Text string
}

// Page is everything known about one program.
type Page struct {
	Program     string
	Summary     string // the NAME line after the dash
	Version     string // in the man page footer; may be empty
	Synopsis    []string
	Description string
	GlobalFlags []Flag
	Commands    []Command
	ExitStatus  []ExitStatus
	Environment []Item
	Files       []Item
	SeeAlso     []string // e.g. "xaad(1)"
}

// allValueFlags lists every flag of the page that takes a value, sorted,
// spelled both with one and two dashes: the completions skip their values
// when they look for the command.
func (p Page) allValueFlags() []string {
	set := map[string]bool{}
	add := func(fs []Flag) {
		for _, f := range fs {
			if f.TakesValue() {
				set["-"+f.Name] = true
				set["--"+f.Name] = true
			}
		}
	}
	add(p.GlobalFlags)
	for _, c := range p.Commands {
		add(c.Flags)
		for _, s := range c.Subcommands {
			add(s.Flags)
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
