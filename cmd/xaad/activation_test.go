package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xaad-dev/xaad/internal/testbed"
)

// testConfig writes a configuration for tb into dir.
func testConfig(t *testing.T, dir string, tb *testbed.Testbed) string {
	t.Helper()
	o := tb.Options()
	idp, as := filepath.Join(dir, "idp"), filepath.Join(dir, "as")
	for p, s := range map[string]string{idp: o.IdPClient.Secret, as: o.ASClient.Secret} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "config.toml")
	// The data key in a file of the test's own, never the person's keyring.
	body := fmt.Sprintf("[daemon]\nkey_provider = \"file\"\nkey_file = %q\n[idp]\nissuer = %q\nclient_id = %q\nclient_secret_file = %q\n[[authorization_server]]\nissuer = %q\nclient_id = %q\nclient_secret_file = %q\n",
		filepath.Join(dir, "data.key"), tb.IdP.Issuer(), o.IdPClient.ID, idp, tb.AS.Issuer(), o.ASClient.ID, as)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The daemon takes the socket systemd passes (LISTEN_FDS, recipe A of
// docs/toolchain.md §4) and tells systemd READY=1 only once it serves, STOPPING=1
// when it stops.
func TestSocketActivationAndNotify(t *testing.T) {
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	dir, err := os.MkdirTemp("", "xa")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := buildXaad(t, dir)
	cfg := testConfig(t, dir, tb)

	sockPath := filepath.Join(dir, "xaad.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()

	notifyPath := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	// LISTEN_PID must be the daemon's own pid: the shell sets it and execs.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "run", "--allow-root", "--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--socket", filepath.Join(dir, "unused.sock"))
	cmd.ExtraFiles = []*os.File{lnFile}
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=grpc", "NOTIFY_SOCKET="+notifyPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lnFile.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The read deadline only keeps a broken daemon from hanging the test.
	readState := func(want string) {
		t.Helper()
		buf := make([]byte, 4096)
		for {
			notify.SetReadDeadline(time.Now().Add(60 * time.Second))
			n, err := notify.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v\ndaemon log:\n%s", want, err, stderr.String())
			}
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
	}
	readState("READY=1")

	conn, err := grpc.NewClient("unix://"+sockPath, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over the activated socket: %v %v\n%s", r, err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "unused.sock")); !os.IsNotExist(err) {
		t.Error("the daemon created its own socket although systemd passed one")
	}

	cmd.Process.Signal(syscall.SIGTERM)
	readState("STOPPING=1")
	if err := <-exited; err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "eyJ") {
		t.Error("the log contains something shaped like a JWT")
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[idp]\nissuer = \"http://remote.example\"\nbogus = 1\n"), 0o600)
	var out, errb strings.Builder
	if code := run([]string{"check-config", bad}, &out, &errb); code != 1 {
		t.Fatalf("exit %d for a bad config", code)
	}
	for _, want := range []string{"bogus", "idp.issuer", "client_id"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, errb.String())
		}
	}
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	good := testConfig(t, dir, tb)
	out.Reset()
	if code := run([]string{"check-config", good}, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK") {
		t.Fatalf("exit %d for a good config: %s", code, errb.String())
	}
}

// The demo with DPoP: the key, the bound token, the proofs, and the
// copied token refused, all checked by the demo itself.
func TestDemoDPoP(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"demo", "--dpop"}, &out, &errb); code != 0 {
		t.Fatalf("demo --dpop exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"DPoP key, thumbprint", "DPoP token from network", "a copied token is refused", "without a proof: 401", "useless to anyone else"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo --dpop output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "eyJ") {
		t.Errorf("demo --dpop output holds a token or proof:\n%s", out.String())
	}
}

func TestDemo(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"demo"}, &out, &errb); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "OK: one enterprise sign-in") || strings.Contains(out.String(), "eyJ") {
		t.Errorf("demo output:\n%s", out.String())
	}
}
