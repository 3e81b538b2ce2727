package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// maxExposure is the `systemd-analyze security` score of xaad.service that
// docs/systemd.md records; a change that weakens the sandbox fails here.
const maxExposure = 2.6

// unitsForAnalyze copies the shipped units into a temporary folder with
// ExecStart pointing at a built binary: verify checks that it exists
// (docs/toolchain.md §4, recipe D). It returns the folder and an
// environment for systemd-analyze --user.
func unitsForAnalyze(t *testing.T) (string, []string) {
	t.Helper()
	testenv.Tool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := buildXaad(t, dir)
	units := filepath.Join(dir, "units")
	rt := filepath.Join(dir, "rt")
	for _, d := range []string{units, rt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"xaad.socket", "xaad.service"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/usr/bin/xaad", bin))
		if err := os.WriteFile(filepath.Join(units, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return units, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_RUNTIME_DIR=" + rt}
}

// An unknown key is only a warning with exit status 0, so any output at all
// fails the test.
func TestUnitsVerify(t *testing.T) {
	units, env := unitsForAnalyze(t)
	cmd := exec.Command("systemd-analyze", "--user", "verify", "--man=no", "xaad.socket", "xaad.service")
	cmd.Dir, cmd.Env = units, env
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitSecurityExposure(t *testing.T) {
	units, env := unitsForAnalyze(t)
	cmd := exec.Command("systemd-analyze", "--user", "security", "--offline=yes", "--no-pager", filepath.Join(units, "xaad.service"))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for xaad\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure score in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (recorded in docs/systemd.md: %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Errorf("xaad.service exposure rose to %.1f from %.1f: the sandbox was weakened\n%s", score, maxExposure, out)
	}
}
