package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// sample is a module whose tests pass, fail, skip (with and without an
// opt-in), print too much, and one package that does not build: the report
// reads what a real `go test -json` says about them.
var sample = map[string]string{
	"go.mod": "module example.com/sample\n\ngo 1.26\n",
	"a/a_test.go": `package a

import (
	"strings"
	"testing"
)

func TestPasses(t *testing.T) { t.Log("quiet-when-passing") }

func TestFails(t *testing.T) {
	t.Log("clue-before-failure")
	t.Error("the-failure-message")
}

func TestOptIn(t *testing.T) { t.Skip("opt-in: runs only when asked") }

func TestPlainSkip(t *testing.T) { t.Skip("dbus-daemon is not installed") }

func TestParent(t *testing.T) {
	t.Run("child", func(t *testing.T) { t.Skip("opt-in: the child is asked for") })
}

func TestLoud(t *testing.T) {
	line := strings.Repeat("x", 1000)
	for range 3000 {
		t.Log(line)
	}
	t.Fatal("loud-failure")
}
`,
	"b/b_test.go": "package b\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { undefinedThing() }\n",
}

// sampleStream runs go test -json over the sample module once.
func sampleStream(t *testing.T) []byte {
	t.Helper()
	goBin := testenv.Go(t)
	dir := t.TempDir()
	for name, body := range sample {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goBin, "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("go test in the sample module: %v (it must run and fail)\n%s", err, out)
	}
	return out
}

func TestReport(t *testing.T) {
	stream := sampleStream(t)
	for _, ci := range []bool{false, true} {
		var out bytes.Buffer
		r := newReport(&out, ci)
		if err := r.read(bytes.NewReader(stream)); err != nil {
			t.Fatal(err)
		}
		r.summary()
		r.listSkips(&out)
		got := out.String()
		for _, want := range []string{
			"--- FAIL: TestFails", "clue-before-failure", "the-failure-message", // a failure, whole
			"bytes left out here", "loud-failure", // a runaway output, bounded, with its end
			"undefinedThing",             // the build error
			"FAIL\texample.com/sample/b", // and its package line
			"go test: 2 passed, ",        // TestPasses, TestParent
			"a.TestOptIn: a_test.go:15: opt-in: runs only when asked",
			"a.TestPlainSkip: a_test.go:17: dbus-daemon is not installed",
			"a.TestParent/child: a_test.go:20: opt-in: the child is asked for",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("ci=%v: the report lacks %q:\n%s", ci, want, got)
			}
		}
		for _, unwanted := range []string{"quiet-when-passing", "=== RUN"} {
			if strings.Contains(got, unwanted) {
				t.Errorf("ci=%v: the report shows %q, which plain go test hides:\n%s", ci, unwanted, got)
			}
		}
		if len(got) > maxTestOutput+64<<10 {
			t.Errorf("ci=%v: %d bytes of report: the loud test was not cut", ci, len(got))
		}
		if r.ok() {
			t.Errorf("ci=%v: the report passed a run with failures", ci)
		}
		refused := strings.Contains(got, "TestPlainSkip skipped under CI=true")
		if refused != ci || strings.Contains(got, "TestOptIn skipped under CI=true") {
			t.Errorf("ci=%v: a plain skip refused=%v (want %v), and an opt-in never:\n%s", ci, refused, ci, got)
		}
	}
}

// A clean run passes, and a skip list goes to the file in the tab format
// scripts/test.sh reads.
func TestReportSkipsFile(t *testing.T) {
	stream := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: opt-in: long\ttest\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p"}
`
	var out bytes.Buffer
	r := newReport(&out, true)
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if !r.ok() {
		t.Fatalf("an opt-in skip failed the run under CI:\n%s", out.String())
	}
	var file bytes.Buffer
	r.writeSkips(&file)
	if got, want := file.String(), "go test\tp.TestA\ta_test.go:3: opt-in: long test\n"; got != want {
		t.Fatalf("skips file = %q, want %q", got, want)
	}
	if got := out.String(); got != "ok  \tp\t0.01s\n" {
		t.Fatalf("printed %q, want only the package line", got)
	}
}

// A test whose binary died mid-run fails the report and shows its output.
func TestReportUnfinished(t *testing.T) {
	stream := `{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"    h_test.go:9: waiting for the daemon\n"}
`
	var out bytes.Buffer
	r := newReport(&out, false)
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if r.ok() || !strings.Contains(out.String(), "p TestHang never finished") || !strings.Contains(out.String(), "waiting for the daemon") {
		t.Fatalf("ok=%v, printed:\n%s", r.ok(), out.String())
	}
}
