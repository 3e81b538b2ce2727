package signin_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The sign-in knows nothing of the broker: the identity, its lock and
// what a Reason is stay there, which is what keeps an identity swap under
// one lock.
func TestSigninDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/xaad-dev/xaad/broker" || strings.HasPrefix(pkg, "github.com/xaad-dev/xaad/daemon") {
			t.Errorf("broker/signin depends on %s", pkg)
		}
	}
}
