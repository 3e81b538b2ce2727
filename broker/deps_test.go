package broker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The broker is the protocol engine and nothing else: the API, the RPC
// framework and the storage engine plug in from outside (docs/architecture.md §2,
// "Packages and dependency directions"). Of the internal packages
// outside broker/ only three leaves are allowed: internal/clock, the one
// source of time, and internal/origin and internal/wwwauth, the one
// origin rule and the one WWW-Authenticate parser, which the client
// package shares.
var allowedInternal = map[string]bool{
	"github.com/xaad-dev/xaad/internal/clock":   true,
	"github.com/xaad-dev/xaad/internal/origin":  true,
	"github.com/xaad-dev/xaad/internal/wwwauth": true,
}

func TestBrokerDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := map[string]string{
		"google.golang.org/grpc":             "the broker must not know the RPC framework; daemon adapts it",
		"github.com/xaad-dev/xaad/proto":     "the broker exposes plain Go types; daemon converts to the API",
		"go.etcd.io/bbolt":                   "the broker persists through its Store interface only",
		"github.com/xaad-dev/xaad/storage":   "the broker persists through its Store interface only",
		"github.com/xaad-dev/xaad/daemon":    "dependencies point from daemon to broker, never back",
		"github.com/xaad-dev/xaad/client":    "the client package is for callers of the daemon",
		"github.com/xaad-dev/xaad/internal/": "",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for prefix, why := range banned {
			if why == "" {
				if strings.HasPrefix(pkg, prefix) && !strings.HasPrefix(pkg, "github.com/xaad-dev/xaad/broker") && !allowedInternal[pkg] {
					t.Errorf("broker depends on %s: internal packages outside broker/ are off limits", pkg)
				}
				continue
			}
			if pkg == prefix || strings.HasPrefix(pkg, prefix+"/") {
				t.Errorf("broker depends on %s: %s", pkg, why)
			}
		}
	}
}
