package daemon

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No secret is ever taken from an environment variable: the environment
// leaks into child processes, /proc/<pid>/environ and crash reports. Secrets
// come from files (client_secret_file, the key file, systemd credentials) or
// the keyring. This guard reads every non-test Go file of the module and
// refuses environment variable names that look like they carry one.
func TestNoSecretsFromEnvironment(t *testing.T) {
	call := regexp.MustCompile(`(?:Getenv|LookupEnv)\("([^"]+)"\)`)
	secretish := regexp.MustCompile(`(?i)token|secret|password|passwd|key|credential|assertion`)
	allowed := map[string]bool{
		"CREDENTIALS_DIRECTORY": true, // systemd: a folder of files, not a secret
	}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".cache" || d.Name() == "testdata" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			if secretish.MatchString(m[1]) && !allowed[m[1]] {
				t.Errorf("%s reads $%s: secrets must come from files or the keyring, never the environment", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
