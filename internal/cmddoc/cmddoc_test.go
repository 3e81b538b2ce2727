package cmddoc

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestFromHelp(t *testing.T) {
	var c Command
	c.FromHelp("Usage: x add URL\n       x ls\n\nDoes things.\n  x add u\n\nExit codes:\n  0 ok\n", "Exit codes:\n  0 ok\n")
	if strings.Join(c.Synopsis, "|") != "x add URL|x ls" || c.Body != "Does things.\n  x add u" {
		t.Errorf("synopsis %q body %q", c.Synopsis, c.Body)
	}
	c = Command{}
	c.FromHelp("Usage: x run [flags]\n\nRuns.\n\nFlags:\n", "")
	if c.Body != "Runs." {
		t.Errorf("body %q", c.Body)
	}
}

func TestFlagsOf(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("v", false, "verbose")
	fs.String("out", "raw", "output `format`")
	fs.Duration("wait", 0, "how long")
	got := FlagsOf(fs)
	want := []Flag{
		{Name: "out", Arg: "format", Usage: "output format", Default: "raw"},
		{Name: "v", Usage: "verbose"},
		{Name: "wait", Arg: "duration", Usage: "how long"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("flag %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[1].Spelling() != "-v" || got[0].Spelling() != "--out" {
		t.Errorf("spellings %q %q", got[1].Spelling(), got[0].Spelling())
	}
}

// TestManEscapes checks that text cannot inject roff requests and that
// hyphens are minus signs.
func TestManEscapes(t *testing.T) {
	var b bytes.Buffer
	p := Page{Program: "x", Summary: "a tool", Description: ".bad request\n'also bad\na\\b --flag",
		Commands: []Command{{Name: "go", Summary: "go", Body: "  .indented\n  -x"}}}
	if err := WriteMan(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n\\&.bad request\n", "\n\\&'also bad\n", "a\\eb \\-\\-flag", "\n\\&.indented\n", "\n\\-x\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("man page lacks %q:\n%s", want, b.String())
		}
	}
}
