package daemon_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
	"github.com/xaad-dev/xaad/storage"
)

// env is a testbed, a config for it, and the folders of one daemon.
type env struct {
	tb    *testbed.Testbed
	dir   string
	sock  string
	state string
	cfg   *daemon.FileConfig
	text  string // cfg as TOML, for tests that run from a file
	// path, when set, is the config file the daemon reads (and reloads)
	// instead of cfg; log, when set, receives the daemon's log.
	path string
	log  io.Writer
	// clock, when set, is the daemon's and the testbed's time (see newEnvOn).
	clock *clock.Fake
}

func newEnv(t testing.TB, extra string) *env {
	t.Helper()
	return newEnvOn(t, extra, nil)
}

// newEnvOn is newEnv with the daemon and the testbed on clk, when not nil.
func newEnvOn(t testing.TB, extra string, clk *clock.Fake) *env {
	t.Helper()
	return newEnvWithOn(t, testbed.Options{}, extra, clk)
}

// newEnvWithOn is newEnvWith with the daemon and the testbed on clk, when
// not nil.
func newEnvWithOn(t testing.TB, tbo testbed.Options, extra string, clk *clock.Fake) *env {
	t.Helper()
	if clk != nil {
		tbo.Now = clk.Now
	}
	e := newEnvWith(t, tbo, extra)
	e.clock = clk
	return e
}

// newEnvWith is newEnv with a testbed started with tbo.
func newEnvWith(t testing.TB, tbo testbed.Options, extra string) *env {
	t.Helper()
	tb, err := testbed.Start(tbo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	// Unix socket paths must stay under 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "xd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	o := tb.Options()
	idpSecret, asSecret := filepath.Join(dir, "idp"), filepath.Join(dir, "as")
	for p, s := range map[string]string{idpSecret: o.IdPClient.Secret, asSecret: o.ASClient.Secret} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The data key in a file of the test's own, not the person's keyring.
	text := fmt.Sprintf(`
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
%s`, filepath.Join(dir, "data.key"), tb.IdP.Issuer(), o.IdPClient.ID, idpSecret, tb.AS.Issuer(), o.ASClient.ID, asSecret, extra)
	cfg, err := daemon.ParseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return &env{tb: tb, dir: dir, sock: filepath.Join(dir, "s"), state: filepath.Join(dir, "state"), cfg: cfg, text: text}
}

// start runs a daemon until the test ends or stop is called.
func (e *env) start(t testing.TB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	opts := daemon.Options{
		Config: e.cfg, SocketPath: e.sock, StateDir: e.state,
		Logger: daemon.NewLogger(io.Discard, "debug"), OnReady: func(string) { close(ready) },
	}
	if e.path != "" {
		opts.Config, opts.ConfigPath = nil, e.path
	}
	if e.log != nil {
		opts.Logger = daemon.NewLogger(e.log, "debug")
	}
	if e.clock != nil {
		opts.Clock = e.clock
	}
	go func() { done <- daemon.Run(ctx, opts) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon exited before ready: %v", err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func (e *env) dial(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), e.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) login(t testing.TB, c *client.Client) {
	t.Helper()
	idt, err := e.tb.IdP.MintIDToken(testbed.IDTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoginImport(context.Background(), idt, ""); err != nil {
		t.Fatal(err)
	}
}

func TestDaemonServesTokens(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	ctx := context.Background()

	_, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if !client.IsLoginRequired(err) {
		t.Fatalf("before login: %v, want LOGIN_REQUIRED", err)
	}
	e.login(t, c)
	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != xaadv1.TokenSource_TOKEN_SOURCE_NETWORK || tok.Resource != e.tb.MCP.URL() || tok.AuthorizationServer != e.tb.AS.Issuer() {
		t.Errorf("token %v", tok)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetIdentity().GetSubject() != "alice" || len(st.GetServers()) != 1 || st.GetServers()[0].GetState() != xaadv1.ServerState_SERVER_STATE_READY {
		t.Errorf("status %v", st)
	}

	// Health and reflection are served on the same socket.
	conn, err := grpc.NewClient("unix://"+e.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v %v", r, err)
	}

	// An empty target is refused with a reason, not answered.
	if _, err := c.Raw().GetAssertion(ctx, &xaadv1.GetAssertionRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("GetAssertion without a target: %v", err)
	}
}

// Bad input gets a clear error and the daemon keeps serving.
func TestDaemonBadInput(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	good, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *xaadv1.GetTokenRequest
		code codes.Code
	}{
		{"no resource", &xaadv1.GetTokenRequest{}, codes.InvalidArgument},
		{"http to a remote host", &xaadv1.GetTokenRequest{Resource: "http://mcp.example.com/mcp"}, codes.InvalidArgument},
		{"not a URL", &xaadv1.GetTokenRequest{Resource: "::::"}, codes.InvalidArgument},
		{"scope with a quote", &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), Scopes: []string{`a"b`}}, codes.InvalidArgument},
		{"unreachable server", &xaadv1.GetTokenRequest{Resource: "http://127.0.0.1:1/mcp"}, codes.Unavailable},
	} {
		_, err := c.Raw().GetToken(ctx, tc.req)
		if status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
		}
	}
	if _, err := c.LoginImport(ctx, "garbage", ""); status.Code(err) != codes.InvalidArgument {
		t.Errorf("garbage ID token: %v", err)
	}
	again, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil || again.AccessToken != good.AccessToken {
		t.Fatalf("daemon lost the good token after bad requests: %v", err)
	}
}

// A restarted daemon serves the persisted token with no new exchange.
func TestDaemonRestartServesPersistedToken(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	first, err := c.GetToken(context.Background(), client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	stop()

	key, err := os.ReadFile(filepath.Join(e.dir, "data.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ = base64.StdEncoding.DecodeString(strings.TrimSpace(string(key)))
	db, err := storage.Open(filepath.Join(e.state, "xaad.db"), &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("database after a clean stop: %v", err)
	}
	db.Close()

	e.start(t)
	c2 := e.dial(t)
	tok, err := c2.GetToken(context.Background(), client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Source != xaadv1.TokenSource_TOKEN_SOURCE_DISK || tok.AccessToken != first.AccessToken {
		t.Errorf("after restart: source %v", tok.Source)
	}
	if n := e.tb.TokenExchanges(); n != 1 {
		t.Errorf("%d exchanges, want 1", n)
	}
}

// A second daemon on the same state or socket fails fast and clearly.
func TestSecondDaemonRefused(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := daemon.Run(ctx, daemon.Options{Config: e.cfg, SocketPath: e.sock, StateDir: e.state, Logger: daemon.NewLogger(io.Discard, "info")})
	if err == nil {
		t.Fatal("second daemon started")
	}
	t.Logf("second daemon: %v", err)
	err = daemon.Run(ctx, daemon.Options{Config: e.cfg, SocketPath: e.sock, StateDir: filepath.Join(e.dir, "other"), Logger: daemon.NewLogger(io.Discard, "info")})
	if err == nil {
		t.Fatal("second daemon took over a live socket")
	}
	t.Logf("second daemon, other state: %v", err)
}

func TestServerManagement(t *testing.T) {
	e := newEnv(t, "[[server]]\nurl = \"https://configured.example/mcp\"\n")
	e.start(t)
	c := e.dial(t)
	ctx := context.Background()
	if _, err := c.AddServer(ctx, client.Server{URL: "https://user.example/mcp", Scopes: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := c.RemoveServer(ctx, "https://configured.example/mcp"); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("removing a configured server: %v", err)
	}
	if err := c.RemoveServer(ctx, "https://user.example/mcp"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveServer(ctx, "https://user.example/mcp"); status.Code(err) != codes.NotFound {
		t.Errorf("removing twice: %v", err)
	}
}
