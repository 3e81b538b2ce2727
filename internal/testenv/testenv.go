// Package testenv lets a test say what it needs from outside Go: a program
// from a Debian package, or root. Where the need is not met the test skips
// with the reason and the fix, except under CI=true (set by .ci/run), where
// it fails instead: scripts/test.sh installs every such package when run as
// root, so in CI a missing one is a broken machine or a broken script, and a
// green run has run every test. Tests that run only when asked (OptIn) stay
// skips everywhere; scripts/test.sh lists every skip at the end of a run.
//
// Only tests import this package.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CI reports whether the tests run in CI, where an unmet need fails.
func CI() bool { return os.Getenv("CI") == "true" }

// Tool returns the path of program name (a name looked up on PATH, or an
// absolute path), which Debian's package pkg provides. If it is missing the
// test skips, or fails under CI, naming the program and the package.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	unmet(t, fmt.Sprintf("%s is not installed (Debian package %s: apt-get install %s; scripts/test.sh installs it when run as root)", name, pkg, pkg))
	return ""
}

// Go returns the path of the go command, for tests that run `go list` or
// `go build`.
func Go(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err == nil {
		return p
	}
	unmet(t, "the go command is not on PATH (put the bin folder of Go 1.26 on PATH)")
	return ""
}

// Root skips the test, or fails it under CI, unless it runs as root. what
// says what the test does with root.
func Root(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	unmet(t, fmt.Sprintf("needs root to %s (CI runs scripts/test.sh as root)", what))
}

// OptIn skips a test that runs only when asked for (how is said in
// reason), in CI too: it is a choice, not a missing need.
func OptIn(t testing.TB, reason string) {
	t.Helper()
	t.Skip("opt-in: " + reason)
}

// unmet skips or, under CI, fails the test. The message starts with the
// same word either way, so the skip summary and a CI failure read alike.
func unmet(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatal("unmet: " + reason + "; CI=true makes this a failure, not a skip")
	}
	t.Skip("unmet: " + reason)
}

// Deps returns the import paths of the packages pkg (a pattern of `go
// list`, relative to the test's folder) and its dependencies link in,
// built with the given tags: what a dependency rule is checked against.
func Deps(t testing.TB, pkg string, tags ...string) []string {
	t.Helper()
	args := []string{"list", "-deps", "-tags=" + strings.Join(tags, ",")}
	out, err := exec.Command(Go(t), append(args, pkg)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatalf("go list -deps %s printed nothing", pkg)
	}
	return deps
}
