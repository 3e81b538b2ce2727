// Package testdaemon runs the real xaad daemon against the testbed, signed
// in, for tests and benchmarks of its clients (xaactl proxy, the client
// package's examples, the TypeScript SDK test): a testbed, a daemon on a
// Unix socket in a short temporary directory, and an imported ID token.
//
// It is test support: it imports the daemon, so only tests,
// internal/cmd/xaad-testenv and internal/hostile may import it, never
// xaactl or package client.
package testdaemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// Options configures [Start]; the zero value is a default testbed and a
// signed-in daemon.
type Options struct {
	// Testbed configures the IdP, AS and MCP server.
	Testbed testbed.Options
	// NoLogin leaves the daemon signed out.
	NoLogin bool
	// Log receives the daemon's log; nil discards it.
	Log io.Writer
	// DPoP is the dpop policy of the testbed's authorization server
	// ("auto", "required", "off"); empty leaves the default.
	DPoP string
	// HTTP makes the daemon's upstream calls; nil means the broker's
	// default client. Tests of timeouts give it a short one.
	HTTP *http.Client
	// ExtraConfig, when set, returns TOML appended to the daemon's
	// configuration for the started testbed (more [[authorization_server]]
	// sections, a [default_client]); secret files it names must exist,
	// mode 0600.
	ExtraConfig func(tb *testbed.Testbed) string
}

// Env is a running testbed and daemon. Close stops both.
type Env struct {
	// TB is the testbed; TB.MCP.URL() is the MCP server.
	TB *testbed.Testbed
	// Socket is the daemon's socket.
	Socket string

	dir    string
	cfg    *daemon.FileConfig
	log    io.Writer
	http   *http.Client
	cancel context.CancelFunc
	done   chan error
}

// Start starts a testbed and a daemon for it and, unless opts.NoLogin,
// signs in with a fresh ID token. It returns when the socket serves.
func Start(opts Options) (_ *Env, err error) {
	tb, err := testbed.Start(opts.Testbed)
	if err != nil {
		return nil, err
	}
	// Unix socket paths must stay under 108 bytes; test temp dirs can be
	// longer.
	dir, err := os.MkdirTemp("", "xtd")
	if err != nil {
		tb.Close()
		return nil, err
	}
	e := &Env{TB: tb, Socket: filepath.Join(dir, "s"), dir: dir}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	extra := ""
	if opts.ExtraConfig != nil {
		extra = opts.ExtraConfig(tb)
	}
	cfg, err := config(dir, tb, opts.DPoP, extra)
	if err != nil {
		return nil, err
	}
	e.cfg, e.log, e.http = cfg, opts.Log, opts.HTTP
	if e.log == nil {
		e.log = io.Discard
	}
	if err := e.serve(); err != nil {
		return nil, err
	}
	if !opts.NoLogin {
		if err := e.Login(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// serve runs the daemon on e's socket and state until Close or Stop, and
// returns once the socket serves.
func (e *Env) serve() error {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		e.done <- daemon.Run(ctx, daemon.Options{
			Config: e.cfg, SocketPath: e.Socket, StateDir: filepath.Join(e.dir, "state"),
			Logger: daemon.NewLogger(e.log, "debug"), OnReady: func(string) { close(ready) }, HTTP: e.http,
		})
	}()
	select {
	case <-ready:
		return nil
	case err := <-e.done:
		e.done <- err // for Close
		return fmt.Errorf("daemon exited before serving: %v", err)
	}
}

// Login imports a fresh ID token from the testbed's IdP.
func (e *Env) Login() error { return Login(e.Socket, e.TB) }

// Login signs the daemon at socket in with a fresh ID token from tb's IdP,
// for tests that run a daemon of their own (internal/hostile).
func Login(socket string, tb *testbed.Testbed) error {
	idt, err := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.LoginImport(ctx, idt, "")
	return err
}

// Close stops the daemon and the testbed and removes the directory. It
// returns the daemon's error, if it failed.
func (e *Env) Close() error {
	var err error
	if e.cancel != nil {
		e.cancel()
		err = <-e.done
	}
	e.TB.Close()
	return errors.Join(err, os.RemoveAll(e.dir))
}

// config writes the client secrets to 0600 files and returns the daemon's
// configuration for tb.
func config(dir string, tb *testbed.Testbed, dpop, extra string) (*daemon.FileConfig, error) {
	text, err := configText(dir, tb, dpop, extra)
	if err != nil {
		return nil, err
	}
	return daemon.ParseConfig([]byte(text))
}

// WriteConfig writes a configuration file for a daemon that uses tb, with
// its client secrets and data key in dir, for tests that run the built
// `xaad run --config` (internal/hostile). It returns the file's path.
func WriteConfig(dir string, tb *testbed.Testbed) (string, error) {
	text, err := configText(dir, tb, "", "")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.toml")
	return path, os.WriteFile(path, []byte(text), 0o600)
}

func configText(dir string, tb *testbed.Testbed, dpop, extra string) (string, error) {
	o := tb.Options()
	idpSecret, asSecret := filepath.Join(dir, "idp"), filepath.Join(dir, "as")
	for p, s := range map[string]string{idpSecret: o.IdPClient.Secret, asSecret: o.ASClient.Secret} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return "", err
		}
	}
	// The data key lives in the run's own folder, never in the user's
	// ~/.config: tests must not touch the real home.
	return fmt.Sprintf(`
[daemon]
key_provider = "file"
key_file = %q
[idp]
issuer = %q
client_id = %q
client_secret_file = %q
[[authorization_server]]
issuer = %q
client_id = %q
client_secret_file = %q
dpop = %q
%s`, filepath.Join(dir, "data.key"), tb.IdP.Issuer(), o.IdPClient.ID, idpSecret, tb.AS.Issuer(), o.ASClient.ID, asSecret, dpop, extra), nil
}
