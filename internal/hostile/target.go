package hostile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// Target is the daemon under attack: the built xaad serving a socket, the
// testbed it uses upstream, signed in.
type Target struct {
	TB     *testbed.Testbed
	Socket string
	// MCP is the testbed's MCP server, the one server the legitimate
	// client uses.
	MCP string
	// PID is the daemon's process.
	PID int

	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startTarget runs `xaad run` for a fresh testbed in a temporary folder
// and signs it in; it returns once the daemon answers.
func startTarget(xaad string) (_ *Target, err error) {
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		return nil, err
	}
	// Unix socket paths must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "xh")
	if err != nil {
		tb.Close()
		return nil, err
	}
	t := &Target{TB: tb, Socket: filepath.Join(dir, "s"), MCP: tb.MCP.URL(), dir: dir, logPath: filepath.Join(dir, "xaad.log"), exited: make(chan struct{})}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	cfg, err := testdaemon.WriteConfig(dir, tb)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(t.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"run", "--config", cfg, "--socket", t.Socket, "--state-dir", filepath.Join(dir, "state")}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	t.cmd = exec.Command(xaad, args...)
	t.cmd.Stdout, t.cmd.Stderr = logf, logf
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	t.PID = t.cmd.Process.Pid
	go func() { t.cmd.Wait(); close(t.exited) }()
	if err := t.awaitReady(); err != nil {
		return nil, err
	}
	return t, testdaemon.Login(t.Socket, tb)
}

// awaitReady polls until the daemon answers Status: it has no readiness
// signal for a process that is not its systemd. The minute is not a
// measurement, only where a wedged daemon gives up.
func (t *Target) awaitReady() error {
	giveUp := time.Now().Add(time.Minute)
	for {
		select {
		case <-t.exited:
			return fmt.Errorf("xaad exited at start:\n%s", t.Log())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := client.Dial(ctx, t.Socket)
		if err == nil {
			_, err = c.Status(ctx)
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(giveUp) {
			return fmt.Errorf("xaad did not answer within a minute: %v\n%s", err, t.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns the daemon's log so far (the end of it, when long).
func (t *Target) Log() string {
	b, _ := os.ReadFile(t.logPath)
	if len(b) > 16<<10 {
		b = append([]byte("...\n"), b[len(b)-16<<10:]...)
	}
	return string(b)
}

// Close stops the daemon (SIGTERM, then SIGKILL after 10 s) and the
// testbed, and removes the folder. It returns an error when the daemon
// had died before.
func (t *Target) Close() error {
	var err error
	if t.cmd != nil && t.cmd.Process != nil {
		select {
		case <-t.exited:
			err = fmt.Errorf("xaad exited during the run: %v\n%s", t.cmd.ProcessState, t.Log())
		default:
			t.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-t.exited:
			case <-time.After(10 * time.Second):
				t.cmd.Process.Kill()
				<-t.exited
				err = errors.New("xaad did not stop within 10 s of SIGTERM")
			}
		}
	}
	t.TB.Close()
	return errors.Join(err, os.RemoveAll(t.dir))
}
