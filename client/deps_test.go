package client

import (
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// Package client is linked into third-party programs and xaactl: it talks
// to the daemon over its socket and may use the leaf contracts under
// internal/ (paths, errinfo), never the daemon's side (docs/architecture.md §2).
var bannedDeps = map[string]string{
	"github.com/xaad-dev/xaad/daemon":           "the daemon is reached over its socket only",
	"github.com/xaad-dev/xaad/broker":           "OAuth and credential logic lives only in the daemon",
	"github.com/xaad-dev/xaad/storage":          "the sealed token store is opened only by the daemon",
	"go.etcd.io/bbolt":                          "the token database is opened only by the daemon",
	"github.com/xaad-dev/xaad/internal/testbed": "test servers that mint tokens have no place in a client",
	"github.com/xaad-dev/xaad/cmd":              "nothing imports a command",
}

func TestDeps(t *testing.T) {
	for _, dep := range testenv.Deps(t, ".") {
		for prefix, reason := range bannedDeps {
			if dep == prefix || strings.HasPrefix(dep, prefix+"/") {
				t.Errorf("package client depends on %s: %s", dep, reason)
			}
		}
	}
}
