package client

import (
	"os/exec"
	"strings"
	"testing"
)

// Package client is linked into third-party programs and xaactl: it may
// use the leaf contracts under internal/ (paths, errinfo), never the
// daemon's side.
var bannedDeps = map[string]string{
	"github.com/xaad-dev/xaad/daemon":  "the daemon is reached over its socket only",
	"github.com/xaad-dev/xaad/broker":  "OAuth and credential logic lives only in the daemon",
	"github.com/xaad-dev/xaad/storage": "the sealed token store is opened only by the daemon",
	"go.etcd.io/bbolt":                 "the token database is opened only by the daemon",
}

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, dep := range deps {
		for prefix, reason := range bannedDeps {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("package client depends on %s: %s", dep, reason)
			}
		}
	}
}
