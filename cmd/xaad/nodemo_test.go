package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

const testbedPkg = "github.com/xaad-dev/xaad/internal/testbed"

// The packaged binary (scripts/package.sh builds with -tags nodemo) carries
// no testbed, a fake IdP and authorization server that mint tokens for
// anyone; the default build, which `go run ./cmd/xaad demo` uses, does.
// The compiled binaries are searched too: a package path survives in the
// symbol table even of a stripped Go binary (the runtime needs it for
// stack traces).
func TestPackagedBuildHasNoTestbed(t *testing.T) {
	for tags, want := range map[string]bool{"nodemo": false, "": true} {
		if got := slices.Contains(testenv.Deps(t, ".", tags), testbedPkg); got != want {
			t.Errorf("-tags=%q: xaad depends on %s: %v, want %v", tags, testbedPkg, got, want)
		}
	}

	goBin := testenv.Go(t)
	dir := t.TempDir()
	packaged := filepath.Join(dir, "xaad-packaged") // buildXaad writes dir/xaad
	// The flags of scripts/package.sh that bear on what is linked in, and
	// its -buildmode=pie, which compiles every package differently: with
	// the same flags, the package step finds this build's packages in the
	// build cache instead of compiling them all again.
	build := exec.Command(goBin, "build", "-tags=nodemo", "-trimpath", "-buildmode=pie", "-ldflags=-s -w", "-o", packaged, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags=nodemo: %v\n%s", err, out)
	}
	for bin, want := range map[string]bool{packaged: false, buildXaad(t, dir): true} {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(testbedPkg+".")); got != want {
			t.Errorf("%s holds code of %s: %v, want %v", bin, testbedPkg, got, want)
		}
	}

	var stderr bytes.Buffer
	cmd := exec.Command(packaged, "demo")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "go run ./cmd/xaad demo") {
		t.Errorf("packaged xaad demo: %v, %q; want a failure that says how to run the demo from source", err, stderr.String())
	}
}
