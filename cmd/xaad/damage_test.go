package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
	"github.com/xaad-dev/xaad/storage/storagetest"
)

// The real binary is started on damaged copies of a real database (a
// sign-in, a server, a token): truncated at every page boundary, a meta
// page zeroed and both, the freelist overwritten, random bytes, garbage
// pages. A damage bbolt would fault or panic on kills a test process, so
// only a separate one can show the daemon survives it. Each time the
// daemon must keep serving, say in Status that the database was damaged,
// moved aside (the file is there, byte for byte) and that sign-in is
// needed, and a fresh sign-in must then work. A truncation that keeps every
// page in use, or a zeroed meta page of the previous commit, is no damage:
// the daemon serves the stored token. A zeroed current meta page costs the
// last commit alone: the file stays, with the commit before.
func TestDamagedDatabaseNeverCrashesTheDaemon(t *testing.T) {
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	dir, err := os.MkdirTemp("", "xd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := buildXaad(t, dir)
	cfg := testConfig(t, dir, tb)
	pristine := populatedDatabase(t, tb, bin, cfg, dir)
	damages, err := storagetest.Damages(pristine, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the key is missing", func(t *testing.T) { expectRefusedKey(t, tb, bin, dir, pristine) })
	for i, d := range damages {
		t.Run(d.Name, func(t *testing.T) {
			state := filepath.Join(dir, fmt.Sprintf("st%02d", i))
			if err := os.MkdirAll(state, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(state, "xaad.db"), d.Data, 0o600); err != nil {
				t.Fatal(err)
			}
			p := startDaemon(t, bin, cfg, state, filepath.Join(dir, fmt.Sprintf("s%02d", i)), filepath.Join(dir, fmt.Sprintf("log%02d", i)))
			defer p.stop(t)
			switch {
			case d.Harmless:
				expectKept(t, tb, p)
			case d.Fallback:
				expectFallback(t, tb, p, state)
			default:
				expectMovedAside(t, tb, p, state, d.Data)
			}
		})
	}
}

// expectRefusedKey starts the daemon on an intact database whose key it
// cannot find: that is no damage, so it must exit non-zero, say what it
// changed (nothing), and leave the file where and as it was.
func expectRefusedKey(t *testing.T, tb *testbed.Testbed, bin, dir string, db []byte) {
	other := filepath.Join(dir, "otherkey")
	if err := os.MkdirAll(filepath.Join(other, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(other, "state", "xaad.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	// A bound so a daemon that starts after all fails the test, not hangs it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "run", "--allow-root", "--config", testConfig(t, other, tb),
		"--state-dir", filepath.Join(other, "state"), "--socket", filepath.Join(other, "s")).CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("xaad run without its key: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "changed nothing") {
		t.Errorf("the refusal does not say it changed nothing:\n%s", out)
	}
	moved, _ := filepath.Glob(path + ".corrupt-*")
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, db) || len(moved) != 0 {
		t.Errorf("the database was touched (read: %v, moved aside: %v)", err, moved)
	}
}

// populatedDatabase runs the daemon once to sign in and get a token, stops
// it cleanly and returns its database file.
func populatedDatabase(t *testing.T, tb *testbed.Testbed, bin, cfg, dir string) []byte {
	t.Helper()
	state := filepath.Join(dir, "pristine")
	p := startDaemon(t, bin, cfg, state, filepath.Join(dir, "sp"), filepath.Join(dir, "log-pristine"))
	signInAndGetToken(t, tb, p)
	p.stop(t)
	b, err := os.ReadFile(filepath.Join(state, "xaad.db"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signInAndGetToken(t *testing.T, tb *testbed.Testbed, p *daemonProc) {
	t.Helper()
	idt, err := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.LoginImport(t.Context(), idt, ""); err != nil {
		t.Fatalf("sign-in: %v\n%s", err, p.log())
	}
	if _, err := p.client.GetToken(t.Context(), client.TokenRequest{Resource: tb.MCP.URL()}); err != nil {
		t.Fatalf("token after sign-in: %v\n%s", err, p.log())
	}
}

func expectMovedAside(t *testing.T, tb *testbed.Testbed, p *daemonProc, state string, damaged []byte) {
	t.Helper()
	st, err := p.client.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(st.GetWarnings(), "\n")
	t.Log(warnings)
	moved, _ := filepath.Glob(filepath.Join(state, "xaad.db.corrupt-*"))
	if len(moved) != 1 {
		t.Fatalf("moved-aside files %v; warnings %q\n%s", moved, warnings, p.log())
	}
	for _, want := range []string{"the database was damaged", "moved aside to " + moved[0], "sign in again (xaactl login)"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("Status warnings %q do not say %q", warnings, want)
		}
	}
	if got, err := os.ReadFile(moved[0]); err != nil || !bytes.Equal(got, damaged) {
		t.Errorf("the moved-aside file is not the damaged one (%d bytes, %v)", len(got), err)
	}
	if s := st.GetIdentity().GetState(); s == xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN {
		t.Errorf("identity %v from an empty database", s)
	}
	if !strings.Contains(p.log(), "the database was damaged") {
		t.Errorf("the log does not say the database was damaged:\n%s", p.log())
	}
	signInAndGetToken(t, tb, p)
	p.alive(t)
}

// expectFallback: the file lost its last commit, not the rest; it is kept,
// not moved aside, and the daemon works on it.
func expectFallback(t *testing.T, tb *testbed.Testbed, p *daemonProc, state string) {
	t.Helper()
	st, err := p.client.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(st.GetWarnings(), "\n"), "damaged") {
		t.Errorf("Status warnings %q for a file with one good meta page", st.GetWarnings())
	}
	if moved, _ := filepath.Glob(filepath.Join(state, "xaad.db.corrupt-*")); len(moved) != 0 {
		t.Errorf("moved aside: %v\n%s", moved, p.log())
	}
	signInAndGetToken(t, tb, p)
	p.alive(t)
}

func expectKept(t *testing.T, tb *testbed.Testbed, p *daemonProc) {
	t.Helper()
	st, err := p.client.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(st.GetWarnings(), "\n"), "damaged") {
		t.Errorf("Status warnings %q for an intact database", st.GetWarnings())
	}
	if s := st.GetIdentity().GetState(); s != xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN {
		t.Errorf("identity %v, want the stored sign-in", s)
	}
	tok, err := p.client.GetToken(t.Context(), client.TokenRequest{Resource: tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != xaadv1.TokenSource_TOKEN_SOURCE_DISK {
		t.Errorf("token from %v, want the stored one", tok.Source)
	}
}

// alive fails the test if the daemon process has gone.
func (d *daemonProc) alive(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the daemon is gone: %v\n%s", err, d.log())
	}
}

// stop ends the daemon with SIGTERM, as systemd does, and waits for it.
func (d *daemonProc) stop(t *testing.T) {
	t.Helper()
	d.client.Close()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("the daemon is gone: %v\n%s", err, d.log())
	}
	d.cmd.Wait() // startDaemon's watcher may have collected the status
}
