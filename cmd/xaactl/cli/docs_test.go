package cli

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestDocsCoverCommands checks that Docs describes every command of
// commands(), with the flags its --help lists.
func TestDocsCoverCommands(t *testing.T) {
	p, err := Docs()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, c := range p.Commands {
		byName[c.Name] = i
	}
	for _, c := range commands() {
		i, ok := byName[c.name]
		if !ok {
			t.Errorf("Docs lacks %q", c.name)
			continue
		}
		d := p.Commands[i]
		if d.Summary != c.summary || len(d.Synopsis) == 0 || d.Body == "" {
			t.Errorf("Docs of %q: summary %q, synopsis %q, body %q", c.name, d.Summary, d.Synopsis, d.Body)
		}
		var out strings.Builder
		if code := Main(context.Background(), []string{c.name, "--help"}, strings.NewReader(""), &out, io.Discard); code != 0 {
			t.Fatalf("xaactl %s --help: exit %d", c.name, code)
		}
		for _, f := range d.Flags {
			if !strings.Contains(out.String(), "  --"+f.Name) {
				t.Errorf("Docs gives %q the flag --%s, which its --help does not list", c.name, f.Name)
			}
		}
		if strings.Contains(out.String(), "\nFlags:\n") && len(d.Flags) == 0 {
			t.Errorf("Docs gives %q no flags but its --help lists some", c.name)
		}
	}
	if len(p.ExitStatus) != ExitLimitExceeded+1 {
		t.Errorf("Docs has %d exit codes, want %d: %v", len(p.ExitStatus), ExitLimitExceeded+1, p.ExitStatus)
	}
	if len(p.GlobalFlags) != 1 || p.GlobalFlags[0].Name != "socket" || p.GlobalFlags[0].Arg != "PATH" {
		t.Errorf("global flags: %+v", p.GlobalFlags)
	}
	if len(p.Commands[byName["server"]].Subcommands) != 3 {
		t.Errorf("server verbs: %+v", p.Commands[byName["server"]].Subcommands)
	}
}
