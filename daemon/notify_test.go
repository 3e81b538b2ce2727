package daemon

import (
	"bufio"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// fakeNotifications is an org.freedesktop.Notifications service.
type fakeNotifications struct{ got chan string }

func (f *fakeNotifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	f.got <- summary + "|" + body
	return 1, nil
}

// privateBus starts a dbus-daemon of its own, so the test never touches a
// real desktop session.
func privateBus(t *testing.T) string {
	t.Helper()
	bin := testenv.Tool(t, "dbus-daemon", "dbus-daemon")
	sock := filepath.Join(t.TempDir(), "bus")
	cmd := exec.Command(bin, "--session", "--nofork", "--print-address", "--address=unix:path="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	return strings.TrimSpace(addr)
}

func TestNotifierSendsOnce(t *testing.T) {
	addr := privateBus(t)
	svc, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	fake := &fakeNotifications{got: make(chan string, 4)}
	if err := svc.Export(fake, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := svc.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request name: %v %v", reply, err)
	}
	n := &notifier{address: addr, log: NewLogger(io.Discard, "debug")}
	defer n.close()
	n.send("xaad: sign-in needed", "the IdP refused the refresh token. Run: xaactl login")
	select {
	case got := <-fake.got:
		if !strings.Contains(got, "sign-in needed") || !strings.Contains(got, "xaactl login") {
			t.Errorf("notification %q", got)
		}
	case <-time.After(30 * time.Second): // only stops a hung test
		t.Fatal("no notification arrived")
	}
}

// Without a session bus the notifier only logs.
func TestNotifierWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	var logs strings.Builder
	n := &notifier{log: NewLogger(&logs, "debug")}
	n.send("s", "b")
	if !strings.Contains(logs.String(), "no session bus") {
		t.Errorf("logs: %s", logs.String())
	}
}
