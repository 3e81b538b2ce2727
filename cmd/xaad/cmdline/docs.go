package cmdline

import (
	"io"

	"github.com/xaad-dev/xaad/internal/cmddoc"
)

// description is the DESCRIPTION of the man page.
const description = `xaad turns one enterprise sign-in into access tokens for every remote MCP
server a person uses (MCP Enterprise-Managed Authorization: token exchange
for an ID-JAG, then the jwt-bearer grant). It runs once per user, usually as
the systemd user service xaad.service started on demand by xaad.socket, and
serves tokens to local MCP clients over a Unix socket; xaactl(1) is its
command line.

Enable it with:
  systemctl --user enable --now xaad.socket`

// Docs describes xaad's command line for the man page and the shell
// completions (internal/cmd/xaad-gendocs): the commands of Commands(), their
// help texts and the flags of their flag sets.
func Docs() cmddoc.Page {
	p := cmddoc.Page{
		Program:     "xaad",
		Summary:     "enterprise MCP credential daemon",
		Description: description,
	}
	for _, c := range Commands() {
		syn := "xaad " + c.Name
		if c.Args != "" {
			syn += " " + c.Args
		}
		p.Synopsis = append(p.Synopsis, syn)
	}
	for _, c := range Commands() {
		d := cmddoc.Command{Name: c.Name, Summary: c.Summary}
		if c.FlagSet != nil {
			d.Flags = cmddoc.FlagsOf(c.FlagSet(io.Discard))
		}
		d.FromHelp(c.Help, "")
		p.Commands = append(p.Commands, d)
	}
	p.Commands = append(p.Commands, cmddoc.Command{Name: "help", Summary: "print the list of commands",
		Synopsis: []string{"xaad help"}, Body: "Print the list of commands (also -h and --help)."})
	return p
}
