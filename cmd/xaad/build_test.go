package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Several tests run the built binaries; each is built once per test process
// (a go build relinks every time, seconds each on a loaded machine) and
// copied into the folder of each test that asks, so a test still owns the
// binary at the path it chose (the user manager's must not be under /tmp).
var (
	buildsDir  string
	buildsErr  error
	buildsOnce sync.Once
	builds     sync.Map // binary name -> *build
)

type build struct {
	once sync.Once
	bin  string
	out  []byte
	err  error
}

// removeBuilds deletes the shared builds; TestMain calls it after the tests.
func removeBuilds() {
	if buildsDir != "" {
		os.RemoveAll(buildsDir)
	}
}

// builtCopy builds pkg once and copies the binary to dir/name.
func builtCopy(t *testing.T, pkg, dir, name string) string {
	t.Helper()
	buildsOnce.Do(func() { buildsDir, buildsErr = os.MkdirTemp("", "xaad-test-builds-") })
	if buildsErr != nil {
		t.Fatal(buildsErr)
	}
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		b.bin = filepath.Join(buildsDir, name)
		b.out, b.err = exec.Command("go", "build", "-o", b.bin, pkg).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, b.err, b.out)
	}
	dst := filepath.Join(dir, name)
	if err := copyExecutable(b.bin, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// buildXaad builds this command into dir.
func buildXaad(t *testing.T, dir string) string {
	t.Helper()
	return builtCopy(t, ".", dir, "xaad")
}

// buildXaactl builds the CLI into dir.
func buildXaactl(t *testing.T, dir string) string {
	t.Helper()
	return builtCopy(t, "../xaactl", dir, "xaactl")
}
