package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/cmd/xaactl/cli"
	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/internal/testenv"
)

// generated runs the generator into a temporary folder once per test.
func generated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := generate(dir, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestManPagesRender renders each page the way lintian does (man
// --warnings) and through groff with every warning on; any message fails.
func TestManPagesRender(t *testing.T) {
	man, groff := testenv.Tool(t, "man", "man-db"), testenv.Tool(t, "groff", "groff-base")
	dir := generated(t)
	for _, prog := range []string{"xaad", "xaactl"} {
		page := filepath.Join(dir, "man1", prog+".1")
		cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=1", "LC_ALL=C.UTF-8")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings -l %s: %v\n%s", page, err, stderr.String())
		}
		out, err := exec.Command(groff, "-man", "-ww", "-z", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww -z %s: %v\n%s", page, err, out)
		}
	}
}

func TestBashCompletionParses(t *testing.T) {
	dir := generated(t)
	testenv.Tool(t, "bash", "bash")
	for _, prog := range []string{"xaad", "xaactl"} {
		if out, err := exec.Command("bash", "-n", filepath.Join(dir, "bash", prog)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", prog, err, out)
		}
	}
}

// TestBashCompletionCompletes runs the bash completion function on a few
// command lines.
func TestBashCompletionCompletes(t *testing.T) {
	dir := generated(t)
	testenv.Tool(t, "bash", "bash")
	for _, tc := range []struct{ line, want string }{
		{"xaactl to", "token"},
		{"xaactl --socket /tmp/s st", "status"},
		{"xaactl token https://x --f", "--force --format"},
		{"xaactl server a", "add"},
		{"xaactl server add --k", "--keep-warm"},
		{"xaactl help lo", "login logout"},
		{"xaad ch", "check-config"},
		{"xaad demo -", "--dpop --serve --state-dir -v"},
	} {
		words := strings.Fields(tc.line)
		prog := words[0]
		script := ". " + filepath.Join(dir, "bash", prog) + "\n" +
			"COMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
			"_" + prog + "; echo \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		got := strings.Fields(string(out))
		if strings.Join(slices.Sorted(slices.Values(got)), " ") != tc.want {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestOtherShellsParse(t *testing.T) {
	dir := generated(t)
	for shell, files := range map[string][]string{
		"zsh":  {"zsh/_xaad", "zsh/_xaactl"},
		"fish": {"fish/xaad.fish", "fish/xaactl.fish"},
	} {
		t.Run(shell, func(t *testing.T) {
			bin := testenv.Tool(t, shell, shell)
			for _, f := range files {
				if out, err := exec.Command(bin, "-n", filepath.Join(dir, f)).CombinedOutput(); err != nil {
					t.Errorf("%s -n %s: %v\n%s", shell, f, err, out)
				}
			}
		})
	}
}

// cliCommand is a command and its flags as the CLI itself prints them,
// independently of the docs.
type cliCommand struct {
	prog, name string   // name may be "server add"
	flags      []string // spelled as the docs do: --name, or -v
}

var helpFlag = regexp.MustCompile(`(?m)^  (--?[a-z][a-z0-9-]*)`)

// xaactlCommands reads `xaactl help`, then `xaactl help CMD` for each
// command and `xaactl help server` for its verbs.
func xaactlCommands(t *testing.T) []cliCommand {
	t.Helper()
	help := func(args ...string) string {
		var out bytes.Buffer
		if code := cli.Main(context.Background(), append([]string{"help"}, args...), strings.NewReader(""), &out, io.Discard); code != 0 {
			t.Fatalf("xaactl help %v: exit %d", args, code)
		}
		return out.String()
	}
	flagsOf := func(text string) []string {
		_, fl, ok := strings.Cut(text, "\nFlags:\n")
		if !ok {
			return nil
		}
		var out []string
		for _, m := range helpFlag.FindAllStringSubmatch(fl, -1) {
			out = append(out, m[1])
		}
		return out
	}
	_, table, _ := strings.Cut(help(), "\nCommands:\n")
	table, _, _ = strings.Cut(table, "\n\n")
	out := []cliCommand{{prog: "xaactl", name: "", flags: []string{"--socket"}}}
	verbRe := regexp.MustCompile(`(?m)xaactl (\S+) ([a-z]+) `)
	for _, l := range strings.Split(table, "\n") {
		name := strings.Fields(l)[0]
		if name == "help" {
			out = append(out, cliCommand{prog: "xaactl", name: name})
			continue
		}
		text := help(name)
		out = append(out, cliCommand{prog: "xaactl", name: name, flags: flagsOf(text)})
		usage, _, _ := strings.Cut(text, "\n\n")
		for _, m := range verbRe.FindAllStringSubmatch(usage+" ", -1) {
			if m[1] != name || strings.ToUpper(m[2]) == m[2] {
				continue
			}
			out = append(out, cliCommand{prog: "xaactl", name: name + " " + m[2], flags: flagsOf(help(name, m[2]))})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d xaactl commands in its help: %v", len(out), out)
	}
	return out
}

func xaadCommands() []cliCommand {
	out := []cliCommand{{prog: "xaad", name: "help"}}
	for _, c := range cmdline.Commands() {
		cc := cliCommand{prog: "xaad", name: c.Name}
		if c.FlagSet != nil {
			c.FlagSet(io.Discard).VisitAll(func(f *flag.Flag) {
				if len(f.Name) == 1 {
					cc.flags = append(cc.flags, "-"+f.Name)
				} else {
					cc.flags = append(cc.flags, "--"+f.Name)
				}
			})
		}
		out = append(out, cc)
	}
	return out
}

// TestEveryCommandAndFlagDocumented checks that each command and each flag
// the programs accept appears in the man page and in the three completions,
// so a new command or flag cannot ship without them.
func TestEveryCommandAndFlagDocumented(t *testing.T) {
	dir := generated(t)
	roff := func(s string) string { return strings.ReplaceAll(s, "-", `\-`) }
	for _, c := range append(xaactlCommands(t), xaadCommands()...) {
		man := read(t, filepath.Join(dir, "man1", c.prog+".1"))
		bash := read(t, filepath.Join(dir, "bash", c.prog))
		zsh := read(t, filepath.Join(dir, "zsh", "_"+c.prog))
		fish := read(t, filepath.Join(dir, "fish", c.prog+".fish"))
		if c.name != "" {
			verb := c.name[strings.LastIndex(c.name, " ")+1:]
			if !strings.Contains(man, `.SS "`+roff(c.name)+`"`) {
				t.Errorf("%s(1) has no section for %q", c.prog, c.name)
			}
			if !regexp.MustCompile(`[ '=]` + regexp.QuoteMeta(verb) + `[ ')]`).MatchString(bash) {
				t.Errorf("bash completion of %s lacks %q", c.prog, c.name)
			}
			if !strings.Contains(zsh, "'"+verb+":") {
				t.Errorf("zsh completion of %s lacks %q", c.prog, c.name)
			}
			if !strings.Contains(fish, "-a '"+verb+"'") {
				t.Errorf("fish completion of %s lacks %q", c.prog, c.name)
			}
		}
		section := man
		if c.name != "" {
			_, section, _ = strings.Cut(man, `.SS "`+roff(c.name)+`"`)
			section, _, _ = strings.Cut(section, ".SS ")
		}
		for _, f := range c.flags {
			name := strings.TrimLeft(f, "-")
			if !strings.Contains(section, `\fB`+roff(f)+`\fR`) {
				t.Errorf("%s(1) does not document %s of %q", c.prog, f, c.name)
			}
			if !regexp.MustCompile(`[ ']` + regexp.QuoteMeta(f) + `[ ')|]`).MatchString(bash) {
				t.Errorf("bash completion of %s lacks %s (%q)", c.prog, f, c.name)
			}
			if !strings.Contains(zsh, "'*"+f+"[") && !strings.Contains(zsh, "'*"+f+"=[") {
				t.Errorf("zsh completion of %s lacks %s (%q)", c.prog, f, c.name)
			}
			if !strings.Contains(fish, "-l "+name+" ") && !strings.Contains(fish, "-s "+name+" ") {
				t.Errorf("fish completion of %s lacks %s (%q)", c.prog, f, c.name)
			}
		}
	}
}

// TestManPageSections checks the sections Debian and the issue ask for.
func TestManPageSections(t *testing.T) {
	dir := generated(t)
	for prog, want := range map[string][]string{
		"xaactl": {".SH NAME\nxaactl \\- ", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH COMMANDS", `.SH "EXIT STATUS"`, ".SH ENVIRONMENT", "XAAD_SOCKET", ".SH FILES", `.SH "SEE ALSO"`, `\fBxaad\fR(1)`, "1.2.3"},
		"xaad":   {".SH NAME\nxaad \\- ", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH COMMANDS", `.SH "EXIT STATUS"`, ".SH ENVIRONMENT", ".SH FILES", "/etc/xaad/config.toml", `.SH "SEE ALSO"`, `\fBxaactl\fR(1)`},
	} {
		man := read(t, filepath.Join(dir, "man1", prog+".1"))
		for _, w := range want {
			if !strings.Contains(man, w) {
				t.Errorf("%s(1) lacks %q", prog, w)
			}
		}
	}
	// Every exit code of xaactl, from cmd/xaactl/cli/exit.go.
	man := read(t, filepath.Join(dir, "man1", "xaactl.1"))
	_, exit, _ := strings.Cut(man, `.SH "EXIT STATUS"`)
	exit, _, _ = strings.Cut(exit, ".SH ")
	for code := cli.ExitOK; code <= cli.ExitLimitExceeded; code++ {
		if !strings.Contains(exit, ".B "+strconv.Itoa(code)+"\n") {
			t.Errorf("EXIT STATUS of xaactl(1) lacks %d", code)
		}
	}
}
