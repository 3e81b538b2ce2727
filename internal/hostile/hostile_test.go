package hostile_test

import (
	"flag"
	"testing"

	"github.com/xaad-dev/xaad/internal/hostile"
)

var long = flag.Bool("hostile.long", false, "run every attack 6 times as long with 4 times the requests")

// The built daemon, attacked in every way internal/hostile knows, stays
// within docs/limits.md and serves the legitimate client throughout.
func TestHostileCallers(t *testing.T) {
	cfg, err := hostile.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Long, cfg.Log = *long, tlog{t}
	r, err := hostile.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.Summary())
	for _, v := range r.Violations {
		t.Error(v)
	}
}

// tlog writes progress to the test's log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(string(p))
	return len(p), nil
}
