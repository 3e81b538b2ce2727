package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xaad-dev/xaad/internal/testenv"
)

const hardenEnv = "XAAD_TEST_HARDEN"

// TestMain lets a test run harden in a child copy of the test binary: it
// changes the whole process, which the other tests must not inherit.
func TestMain(m *testing.M) {
	if os.Getenv(hardenEnv) == "1" {
		os.Exit(hardenChild())
	}
	code := m.Run()
	removeBuilds()
	os.Exit(code)
}

func hardenChild() int {
	if err := harden(1000, false); err != nil {
		fmt.Println("harden:", err)
		return 1
	}
	d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	var core unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_CORE, &core)
	f := filepath.Join(os.Getenv("XAAD_TEST_DIR"), "created")
	os.WriteFile(f, nil, 0o666)
	st, _ := os.Stat(f)
	fmt.Printf("dumpable=%d core=%d mode=%04o\n", d, core.Cur, st.Mode().Perm())
	return 0
}

func TestHarden(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), hardenEnv+"=1", "XAAD_TEST_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "dumpable=0 core=0 mode=0600" {
		t.Fatalf("after harden: %s, want dumpable=0 core=0 mode=0600", got)
	}
}

func TestRunRefusesRoot(t *testing.T) {
	if err := harden(0, false); err != errRoot {
		t.Fatalf("harden as root = %v", err)
	}
	testenv.Root(t, "check that xaad run refuses root")
	var stderr bytes.Buffer
	if rc := run([]string{"run", "--config", "/nonexistent"}, &stderr, &stderr); rc != 1 || !strings.Contains(stderr.String(), "--allow-root") {
		t.Fatalf("xaad run as root: %d, %s", rc, stderr.String())
	}
}
