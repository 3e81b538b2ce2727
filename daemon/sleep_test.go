package daemon

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testenv"
)

// A PrepareForSleep(false) signal on the system bus triggers a resync. The
// test runs its own dbus-daemon and sends the signal with dbus-send, as
// logind would.
func TestWatchSleep(t *testing.T) {
	daemonBin := testenv.Tool(t, "dbus-daemon", "dbus-daemon")
	testenv.Tool(t, "dbus-send", "dbus-bin")
	bus := exec.Command(daemonBin, "--session", "--nofork", "--print-address=1", "--address=unix:tmpdir="+os.TempDir())
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { bus.Process.Kill(); bus.Wait() }()
	buf := make([]byte, 512)
	n, err := out.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(buf[:n]))
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resumed := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchSleep(ctx, NewLogger(io.Discard, "debug"), func() { resumed <- struct{}{} })
	}()
	send := func(sleeping string) {
		cmd := exec.Command("dbus-send", "--bus="+addr, "--type=signal", logindPath, logindInterface+"."+prepareForSleep, "boolean:"+sleeping)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dbus-send: %v %s", err, b)
		}
	}
	// The watcher subscribes asynchronously; keep signalling until it
	// reacts. Going to sleep (true) must not count as a resume.
	send("true")
	for {
		send("false")
		select {
		case <-resumed:
			cancel()
			<-done
			return
		case <-done:
			t.Fatal("watcher ended early")
		default:
		}
	}
}
