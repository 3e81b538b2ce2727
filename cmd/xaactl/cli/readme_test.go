package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The README's exit codes are the ones xaactl has, and each "(exit N)" it
// gives next to an error reason is what xaactl exits with for that reason.
func TestREADMEExitCodes(t *testing.T) {
	text := readme(t)
	sentence := regexp.MustCompile(`Exit codes: ([^\n]+(?:\n[^\n]+)*?)\.\n`).FindStringSubmatch(text)
	if sentence == nil {
		t.Fatal(`README has no "Exit codes: ..." sentence`)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(\d+) [A-Za-z]`).FindAllStringSubmatch(sentence[1], -1) {
		got = append(got, m[1])
	}
	var want []string
	for _, e := range parseExitCodes(exitCodesHelp) {
		want = append(want, e.Code)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("README lists exit codes %v; xaactl has %v", got, want)
	}

	rows := regexp.MustCompile("`([A-Z_]+)`[^|\n]*\\(exit (\\d+)\\)").FindAllStringSubmatch(text, -1)
	if len(rows) < 3 {
		t.Fatalf("README gives %d reasons with an exit code; the check would prove nothing", len(rows))
	}
	for _, r := range rows {
		if _, ok := xaadv1.Reason_value["REASON_"+r[1]]; !ok {
			t.Errorf("README gives an exit code for %s, which is no reason of the API", r[1])
			continue
		}
		// The error as the client package hands it to xaactl.
		err := &client.Error{Code: codes.Unknown, Reason: r[1], Message: "x"}
		if want, _ := strconv.Atoi(r[2]); exitCode(err) != want {
			t.Errorf("README: %s exits %d; xaactl exits %d", r[1], want, exitCode(err))
		}
	}
}

// The README's line for an unreachable daemon is what xaactl prints, with
// the exit code it exits with.
func TestREADMEUnreachable(t *testing.T) {
	m := regexp.MustCompile("`xaactl: ([^`]+?) \\.\\.\\.` \\(exit (\\d+)\\)").FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("README's troubleshooting has no row for an unreachable daemon")
	}
	var stderr bytes.Buffer
	sock := filepath.Join(t.TempDir(), "none.sock")
	rc := Main(context.Background(), []string{"--socket", sock, "status"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	if want, _ := strconv.Atoi(m[2]); rc != want || !strings.HasPrefix(stderr.String(), "xaactl: "+m[1]) {
		t.Errorf("README says %q (exit %s); xaactl printed %q and exited %d", m[1], m[2], stderr.String(), rc)
	}
}

// Every reason of the API is in the README's list of errors.
func TestREADMEReasons(t *testing.T) {
	text := readme(t)
	for name := range xaadv1.Reason_value {
		r := strings.TrimPrefix(name, "REASON_")
		if r != "UNSPECIFIED" && !strings.Contains(text, "`"+r+"`") {
			t.Errorf("README does not mention the error reason %s", r)
		}
	}
}
