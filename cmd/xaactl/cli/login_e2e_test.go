package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// realDaemon runs a daemon against a testbed on a short socket path.
func realDaemon(t *testing.T) (*testbed.Testbed, string) {
	t.Helper()
	return realDaemonWith(t, "")
}

// realDaemonWith is realDaemon with more [idp] settings (TOML lines).
func realDaemonWith(t *testing.T, idpExtra string) (*testbed.Testbed, string) {
	t.Helper()
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	dir, err := os.MkdirTemp("", "xl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := tb.Options()
	secret := filepath.Join(dir, "idp")
	if err := os.WriteFile(secret, []byte(o.IdPClient.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := daemon.ParseConfig([]byte(fmt.Sprintf("[daemon]\nkey_provider = \"file\"\nkey_file = %q\n[idp]\nissuer = %q\nclient_id = %q\nclient_secret_file = %q\n%s\n",
		filepath.Join(dir, "data.key"), tb.IdP.Issuer(), o.IdPClient.ID, secret, idpExtra)))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Config: cfg, SocketPath: sock, StateDir: filepath.Join(dir, "state"),
			Logger: daemon.NewLogger(io.Discard, "debug"), OnReady: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return tb, sock
}

// browse plays the person's browser: it follows the URL to the daemon's
// result page.
func browse(pages chan<- string) func(string) error {
	return func(u string) error {
		go func() {
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(u)
			if err != nil {
				pages <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pages <- string(b)
		}()
		return nil
	}
}

func TestLoginCommand(t *testing.T) {
	tb, sock := realDaemon(t)
	var out, errOut bytes.Buffer
	pages := make(chan string, 1)
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, socket: sock, openURL: browse(pages)}
	if err := dispatch(context.Background(), e, []string{"--socket", sock, "login"}); err != nil {
		t.Fatalf("login: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(<-pages, "Signed in") {
		t.Error("the browser did not land on the success page")
	}
	if !strings.HasPrefix(out.String(), "Signed in as alice at "+tb.IdP.Issuer()) {
		t.Errorf("stdout %q", out.String())
	}
	if !strings.Contains(errOut.String(), "Your browser has been opened") {
		t.Errorf("stderr %q", errOut.String())
	}

	// --device prints the code and finishes when the IdP approves.
	tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceInterval: time.Second})
	out.Reset()
	errOut.Reset()
	if err := dispatch(context.Background(), e, []string{"--socket", sock, "login", "--device"}); err != nil {
		t.Fatalf("login --device: %v", err)
	}
	if !strings.Contains(errOut.String(), "WDJB-MJHT") || !strings.Contains(out.String(), "Signed in as alice") {
		t.Errorf("device login output:\n%s\n%s", errOut.String(), out.String())
	}

	out.Reset()
	if err := dispatch(context.Background(), e, []string{"--socket", sock, "logout"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "revoked") {
		t.Errorf("logout: %q", out.String())
	}
}

// --no-browser prints the URL; the timeout ends the sign-in with a clear
// message, and cancels it in the daemon.
func TestLoginCommandTimeout(t *testing.T) {
	_, sock := realDaemon(t)
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, socket: sock,
		openURL: func(string) error { t.Error("--no-browser opened a browser"); return nil }}
	err := dispatch(context.Background(), e, []string{"--socket", sock, "login", "--no-browser", "--timeout", "300ms"})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(errOut.String(), "Open this URL in a browser") || !strings.Contains(errOut.String(), "/authorize?") {
		t.Errorf("stderr %q", errOut.String())
	}
}
