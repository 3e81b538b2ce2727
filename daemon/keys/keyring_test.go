package keys

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/xaad-dev/xaad/internal/testenv"
	"github.com/xaad-dev/xaad/storage"
)

// keyringEnv marks the copy of the test binary that runs inside a private
// D-Bus session with an unlocked gnome-keyring (docs/toolchain.md §5).
const keyringEnv = "XAAD_TEST_IN_KEYRING"

// keyringScript starts and unlocks a headless gnome-keyring, runs the
// command, and kills the keyring daemon, which would outlive the session.
const keyringScript = `#!/bin/bash
set -e
eval "$(printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets)"
rc=0; "$@" || rc=$?
pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets | awk '/uint32/{print $2}')
[ -n "$pid" ] && kill "$pid"
exit $rc
`

// The Secret Service provider for real: a gnome-keyring in a private
// D-Bus session. The test re-runs itself there; where the tools are missing
// it skips, or fails under CI=true (scripts/test.sh installs them as root).
func TestKeyringProvider(t *testing.T) {
	if os.Getenv(keyringEnv) != "1" {
		reexecUnderKeyring(t)
		return
	}
	state, keyFile := keyEnv(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", os.Getenv("XAAD_TEST_BUS")) // keyEnv cleared it
	db, src := mustOpen(t, state, Settings{})
	if src.Provider() != Keyring || Warning(src) != "" {
		t.Fatalf("auto chose %s (warning %q), want the keyring", src, Warning(src))
	}
	id := db.KeyID()
	db.Close()
	path := filepath.Join(state, storage.FileName)
	secret, err := keyring.Get(keyringService, "data-key-"+id)
	if err != nil {
		t.Fatalf("the key is not in the keyring: %v", err)
	}
	if k, err := decodeKey([]byte(secret)); err != nil || storage.KeyID(k) != id {
		t.Fatalf("keyring holds another key: %v", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a key file was written although the keyring keeps the key")
	}

	// Rekey within the keyring: the new item replaces the old one.
	res, err := Rekey(path, Settings{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get(keyringService, "data-key-"+id); err != keyring.ErrNotFound {
		t.Fatalf("old key still in the keyring: %v", err)
	}
	db, _ = mustOpen(t, state, Settings{})
	if db.KeyID() != res.NewKeyID {
		t.Fatalf("key %s after rekey, want %s", db.KeyID(), res.NewKeyID)
	}
	db.Close()

	// A key missing from the keyring refuses to start and changes nothing.
	secret, _ = keyring.Get(keyringService, "data-key-"+res.NewKeyID)
	keyring.Delete(keyringService, "data-key-"+res.NewKeyID)
	if _, _, err := open(state, Settings{Provider: Keyring}); err == nil || !strings.Contains(err.Error(), res.NewKeyID) {
		t.Fatalf("missing keyring item: %v", err)
	}
	keyring.Set(keyringService, "data-key-"+res.NewKeyID, secret)

	// Move the key out of the keyring into a file, and back.
	if _, err := Rekey(path, Settings{}, File); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get(keyringService, "data-key-"+res.NewKeyID); err != keyring.ErrNotFound {
		t.Fatalf("key left in the keyring after moving to a file: %v", err)
	}
	db, src = mustOpen(t, state, Settings{})
	if src.Provider() != File {
		t.Fatalf("after the move auto found the key in %s", src)
	}
	db.Close()
}

func reexecUnderKeyring(t *testing.T) {
	testenv.Tool(t, "dbus-run-session", "dbus-daemon")
	testenv.Tool(t, "gnome-keyring-daemon", "gnome-keyring")
	testenv.Tool(t, "dbus-send", "dbus-bin")
	dir := t.TempDir()
	script := filepath.Join(dir, "kr.sh")
	if err := os.WriteFile(script, []byte(keyringScript), 0o700); err != nil {
		t.Fatal(err)
	}
	// Output to a file, not a pipe: a D-Bus-activated keyring daemon can
	// inherit the pipe and keep it open (docs/toolchain.md §5).
	outPath := filepath.Join(dir, "out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("dbus-run-session", "--", script, "/bin/sh", "-c",
		`XAAD_TEST_BUS="$DBUS_SESSION_BUS_ADDRESS" exec "$0" "$@"`, os.Args[0], "-test.run=^TestKeyringProvider$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), keyringEnv+"=1", "HOME="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	b, _ := os.ReadFile(outPath)
	if runErr != nil || !strings.Contains(string(b), "--- PASS: TestKeyringProvider") {
		t.Fatalf("under dbus-run-session: %v\n%s", runErr, b)
	}
}
