package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xaad-dev/xaad/internal/cmddoc"
)

// subcommands lists the verbs of commands that have them; parseServer
// dispatches on them.
var subcommands = map[string][]string{
	"server": {"add", "ls", "rm"},
}

// Docs describes xaactl's command line for the man page and the shell
// completions (internal/cmd/xaad-gendocs): every command of commands(), its
// help text and the flags of its flag set, read by running it with --help
// (which no command answers by calling the daemon). A command that does not
// answer --help with its help is an error, so a new command cannot go
// undocumented.
func Docs() (cmddoc.Page, error) {
	p := cmddoc.Page{
		Program:     "xaactl",
		Summary:     "command line of the xaad MCP credential daemon",
		GlobalFlags: cmddoc.FlagsOf(globalFlags(&env{})),
		ExitStatus:  parseExitCodes(exitCodesHelp),
	}
	desc, rest, _ := strings.Cut(mainHelp(), "\n\nUsage:\n")
	p.Description = desc
	syn, _, _ := strings.Cut(rest, "\n\n")
	for _, l := range strings.Split(syn, "\n") {
		p.Synopsis = append(p.Synopsis, strings.TrimSpace(l))
	}
	for _, c := range commands() {
		d, err := helpOf(c, nil)
		if err != nil {
			return p, err
		}
		d.Summary = c.summary
		for _, verb := range subcommands[c.name] {
			s, err := helpOf(c, []string{verb})
			if err != nil {
				return p, err
			}
			s.Name = verb
			s.Summary = verbSummary(d.Body, verb)
			d.Subcommands = append(d.Subcommands, s)
		}
		p.Commands = append(p.Commands, d)
	}
	help := cmddoc.Command{Name: "help", Summary: "show help for a command", Synopsis: []string{"xaactl help [COMMAND]"},
		Body: "Print the help of COMMAND (the same as xaactl COMMAND --help), or without COMMAND the list of commands."}
	p.Commands = append(p.Commands, help)
	return p, nil
}

// helpOf runs c with args and --help and returns what the help says.
func helpOf(c command, args []string) (cmddoc.Command, error) {
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		socket:  "/nonexistent/xaad-docs.sock",
		openURL: func(string) error { return errors.New("no browser while writing docs") }}
	name := strings.TrimSpace(c.name + " " + strings.Join(args, " "))
	err := c.run(context.Background(), e, append(append([]string{}, args...), "--help"))
	var he *helpError
	if !errors.As(err, &he) {
		return cmddoc.Command{}, fmt.Errorf("xaactl %s --help gave no help (err: %v): every command must answer --help", name, err)
	}
	d := cmddoc.Command{Name: c.name, Flags: cmddoc.FlagsOf(he.fs)}
	d.FromHelp(he.text, exitCodesHelp)
	return d, nil
}

// verbSummary finds "  verb  summary" in the help of the parent command.
func verbSummary(body, verb string) string {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, "  "+verb+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return verb
}

// parseExitCodes reads the "  N  meaning" lines of exitCodesHelp.
func parseExitCodes(text string) []cmddoc.ExitStatus {
	var out []cmddoc.ExitStatus
	for _, l := range strings.Split(text, "\n") {
		code, meaning, ok := strings.Cut(strings.TrimSpace(l), "  ")
		if !ok || !strings.HasPrefix(l, " ") {
			continue
		}
		out = append(out, cmddoc.ExitStatus{Code: code, Meaning: strings.TrimSpace(meaning)})
	}
	return out
}
