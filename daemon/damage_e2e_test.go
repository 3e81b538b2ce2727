package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A damaged database does not stop the daemon: it starts clean and says so
// in Status, and the damaged file is kept beside the new one.
func TestDamagedDatabaseReportedInStatus(t *testing.T) {
	e := newEnv(t, "")
	if err := os.MkdirAll(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.state, "xaad.db"), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	st, err := e.dial(t).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetWarnings()) == 0 || !strings.Contains(st.GetWarnings()[0], "xaad.db.corrupt-") {
		t.Fatalf("Status warnings %q", st.GetWarnings())
	}
	// The key file provider is the weakest, and Status says that too.
	if !strings.Contains(strings.Join(st.GetWarnings(), "\n"), "weakest") {
		t.Errorf("no key file warning in %q", st.GetWarnings())
	}
	matches, _ := filepath.Glob(filepath.Join(e.state, "xaad.db.corrupt-*"))
	if len(matches) != 1 {
		t.Fatalf("moved-aside files: %v", matches)
	}
}
