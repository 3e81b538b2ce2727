package auditlog

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// unescape inverts Escape on text it did not cut.
func unescape(t testing.TB, esc string) string {
	t.Helper()
	s, err := strconv.Unquote(`"` + strings.ReplaceAll(esc, `"`, `\"`) + `"`)
	if err != nil {
		t.Fatalf("Unquote(%q): %v", esc, err)
	}
	return s
}

// printableOnly reports whether s is valid UTF-8 of printable characters.
func printableOnly(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://mcp.example/mcp", "https://mcp.example/mcp"},
		{"a\nb", `a\nb`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{`C:\dir`, `C:\\dir`},
		{"caf\xc3", `caf\xc3`},       // a cut UTF-8 sequence
		{"x\u202ey", `x\u202ey`},     // right-to-left override
		{"a\u2028b", `a\u2028b`},     // line separator
		{"\u0085", `\u0085`},         // C1 next line
		{"é €", "é €"},               // printable non-ASCII stays
		{"\U000e0001", `\U000e0001`}, // a tag character (format)
		{"\x7f", `\x7f`},
	} {
		got := Escape(tc.in, 0)
		if got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := unescape(t, got); back != tc.in {
			t.Errorf("Escape(%q) does not unquote back: %q", tc.in, back)
		}
		if Printable(got) != got {
			t.Errorf("Printable changed escaped text %q", got)
		}
	}
}

// A cut never splits a character or an escape, and says how much is gone.
func TestEscapeCut(t *testing.T) {
	in := strings.Repeat("€", 100) // 300 bytes
	got := Escape(in, 64)
	if len(got) > 64 || !utf8.ValidString(got) {
		t.Fatalf("cut to %d bytes, valid UTF-8 %v: %q", len(got), utf8.ValidString(got), got)
	}
	head, n, ok := splitMarker(got)
	if !ok {
		t.Fatalf("no marker in %q", got)
	}
	if len(head)+n != len(in) || !strings.HasPrefix(in, head) {
		t.Fatalf("marker says %d bytes left out of %d after %d kept", n, len(in), len(head))
	}
	esc := Escape(strings.Repeat("\x1b", 100), 50)
	head, _, _ = strings.Cut(esc, `\…`)
	if len(esc) > 50 || len(head)%4 != 0 {
		t.Fatalf("an escape was split: %q", esc)
	}
	// Text that looks like a marker is escaped, so it is not one.
	if _, _, cut := splitMarker(Escape(`x\…[+3 bytes]`, 64)); cut {
		t.Fatal("a literal marker in the input reads as a cut")
	}
	if short := "short"; Escape(short, 64) != short {
		t.Fatal("a short value was changed")
	}
	// A value that escapes to exactly the limit is not cut.
	exact := strings.Repeat("a", 62) + "\n"
	if got := Escape(exact, 64); got != strings.Repeat("a", 62)+`\n` {
		t.Fatalf("value at the limit: %q", got)
	}
}

// Printable makes any text safe while leaving backslashes alone.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		`already \n escaped`: `already \n escaped`,
		"raw\nnewline":       `raw\nnewline`,
		"\x9b2J":             `\x9b2J`, // invalid UTF-8, not a raw C1 CSI
		"\u009b2J":           `\u009b2J`,
	} {
		if got := Printable(in); got != want || !printableOnly(got) {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
