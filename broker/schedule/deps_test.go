package schedule_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The queue knows nothing of the broker (a simulator drives it without
// one): of this module it may use only the clock.
func TestScheduleDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/xaad-dev/xaad/") &&
			pkg != "github.com/xaad-dev/xaad/broker/schedule" && pkg != "github.com/xaad-dev/xaad/internal/clock" {
			t.Errorf("broker/schedule depends on %s", pkg)
		}
	}
}
