package testenv_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// missing is a program no machine has.
const missing = "xaad-no-such-program-7f3a"

// cases are the test bodies TestNeeds runs in a child test process: a real
// test run, with real skips and failures, is the honest way to see what
// the helpers do to a test.
var cases = map[string]func(t *testing.T){
	"missing": func(t *testing.T) { testenv.Tool(t, missing, "xaad-pkg") },
	"present": func(t *testing.T) {
		if p := testenv.Tool(t, os.Args[0], "xaad-pkg"); p == "" {
			t.Fatal("Tool returned no path for a program that exists")
		}
	},
	"optin": func(t *testing.T) { testenv.OptIn(t, "runs without -short") },
	"root":  func(t *testing.T) { testenv.Root(t, "test Root") },
}

// child runs this test binary's TestNeeds with XAAD_TESTENV_CASE=name and
// CI=ci, and returns its verbose output and whether it exited 0.
func child(t *testing.T, name, ci string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNeeds$", "-test.v")
	cmd.Env = append(os.Environ(), "XAAD_TESTENV_CASE="+name, "CI="+ci)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), err == nil
}

func TestNeeds(t *testing.T) {
	if name := os.Getenv("XAAD_TESTENV_CASE"); name != "" {
		cases[name](t)
		t.Log("reached past the check")
		return
	}
	rootVerdict, rootOK, rootText := "--- PASS", true, "reached past the check"
	if os.Geteuid() != 0 {
		rootVerdict, rootOK, rootText = "--- FAIL", false, "unmet: needs root to test Root"
	}
	for _, tc := range []struct {
		name, ci string
		verdict  string // the line go test prints for the test
		ok       bool   // the child exits 0
		text     []string
	}{
		{"missing", "", "--- SKIP", true, []string{"unmet: " + missing + " is not installed", "apt-get install xaad-pkg"}},
		{"missing", "true", "--- FAIL", false, []string{"unmet: " + missing + " is not installed", "apt-get install xaad-pkg", "CI=true"}},
		{"missing", "1", "--- SKIP", true, []string{"unmet: " + missing}}, // only CI=true is CI
		{"optin", "", "--- SKIP", true, []string{"opt-in: runs without -short"}},
		{"optin", "true", "--- SKIP", true, []string{"opt-in: runs without -short"}},
		{"present", "true", "--- PASS", true, []string{"reached past the check"}},
		{"root", "true", rootVerdict, rootOK, []string{rootText}},
	} {
		out, ok := child(t, tc.name, tc.ci)
		if ok != tc.ok || !strings.Contains(out, tc.verdict+": TestNeeds") {
			t.Errorf("case %s with CI=%q: exit ok=%v, want %v and %q:\n%s", tc.name, tc.ci, ok, tc.ok, tc.verdict, out)
			continue
		}
		for _, w := range tc.text {
			if !strings.Contains(out, w) {
				t.Errorf("case %s with CI=%q: output lacks %q:\n%s", tc.name, tc.ci, w, out)
			}
		}
		if tc.verdict != "--- PASS" && strings.Contains(out, "reached past the check") {
			t.Errorf("case %s with CI=%q: the test went on after the check:\n%s", tc.name, tc.ci, out)
		}
	}
}
