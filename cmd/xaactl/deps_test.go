package main

import (
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// banned lists packages xaactl must never link, with the reason. The CLI
// runs as any user tool does; it must carry no credential, broker or storage
// code (docs/architecture.md §2, "Packages and dependency directions").
var banned = map[string]string{
	"github.com/xaad-dev/xaad/daemon":  "the daemon is wiring for the service side; xaactl talks to it only over the socket",
	"github.com/xaad-dev/xaad/broker":  "the broker holds the OAuth and credential logic, which lives only in the daemon",
	"github.com/xaad-dev/xaad/storage": "the sealed token store is opened only by the daemon",
	"go.etcd.io/bbolt":                 "the token database is opened only by the daemon",
}

func TestDeps(t *testing.T) {
	for _, dep := range testenv.Deps(t, ".") {
		for prefix, reason := range banned {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("xaactl depends on %s: %s", dep, reason)
			}
		}
	}
}
