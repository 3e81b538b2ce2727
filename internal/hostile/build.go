package hostile

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds xaad, xaactl and the attacker binary (xaad-hostile) into
// dir, without the race detector even under `go test -race`: the memory
// bound is the daemon's as shipped. It returns a Config for them.
func Build(dir string) (Config, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return Config{}, fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/xaad", "./cmd/xaactl", "./internal/cmd/xaad-hostile")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return Config{}, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return Config{
		Xaad: filepath.Join(dir, "xaad"), Xaactl: filepath.Join(dir, "xaactl"),
		Attacker: filepath.Join(dir, "xaad-hostile"),
	}, nil
}
