package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childEnv carries an attacker's Env (as JSON) to its process.
const childEnv = "XAAD_HOSTILE_ATTACKER"

// MaybeChild runs the attacker this process was started as, prints its
// Outcome as JSON and exits; in any other process it returns at once.
// Call it first thing in main (and in the TestMain of a test that is its
// own attacker binary).
func MaybeChild() {
	raw := os.Getenv(childEnv)
	if raw == "" {
		return
	}
	var e Env
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-hostile attacker:", err)
		os.Exit(2)
	}
	a := find(e.Attack)
	if a == nil {
		fmt.Fprintln(os.Stderr, "xaad-hostile attacker: no attack", e.Attack)
		os.Exit(2)
	}
	out, _ := json.Marshal(a.Run(&e))
	os.Stdout.Write(append(out, '\n'))
	os.Exit(0)
}

// attacker is one running attacker process.
type attacker struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// spawn starts exe as the attacker of e. It dies with the orchestrator.
func spawn(exe string, e Env) (*attacker, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	a := &attacker{cmd: exec.Command(exe)}
	a.cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return a, a.cmd.Start()
}

// wait collects the attacker's Outcome; past until and a grace, it is
// killed and reported.
func (a *attacker) wait(until time.Time) (*Outcome, error) {
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	ctx, cancel := context.WithDeadline(context.Background(), until.Add(time.Minute))
	defer cancel()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("attacker %v: %v\n%s", a.cmd.Args, err, a.stderr.String())
		}
	case <-ctx.Done():
		a.cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("attacker did not stop a minute after its phase ended\n%s", a.stderr.String())
	}
	o := newOutcome()
	if err := json.Unmarshal(a.stdout.Bytes(), o); err != nil {
		return nil, fmt.Errorf("attacker's outcome: %v: %q\n%s", err, a.stdout.String(), a.stderr.String())
	}
	return o, nil
}
