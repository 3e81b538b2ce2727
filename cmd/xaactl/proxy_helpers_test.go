package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// The xaactl binary the process-level tests run, built once per test run.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// xaactlBinary builds this command (with the race detector when the tests
// run under it) and returns its path.
func xaactlBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "xaactl-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "xaactl")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// startEnv starts a testbed and a signed-in daemon for the test.
func startEnv(t testing.TB, opts testdaemon.Options) *testdaemon.Env {
	t.Helper()
	env, err := testdaemon.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("test environment: %v", err)
		}
	})
	return env
}

// syncBuffer is a bytes.Buffer safe for the writes of a child process's
// stderr copier and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// received collects what the server sent on its own.
type received struct {
	progress chan string
}

// proxySession launches `xaactl proxy` for env's MCP server as a stdio
// server of a go-sdk client and returns the session. version "" lets the
// client pick (2026-07-28, sessionless); "2025-11-25" makes a session.
func proxySession(t testing.TB, env *testdaemon.Env, version string, proxyArgs ...string) (*mcp.ClientSession, *received, *syncBuffer) {
	t.Helper()
	return proxySessionFor(t, env, env.TB.MCP.URL(), version, proxyArgs...)
}

// sessionFor is a default go-sdk client's session through the proxy to url.
func sessionFor(t testing.TB, env *testdaemon.Env, url string) *mcp.ClientSession {
	t.Helper()
	cs, _, _ := proxySessionFor(t, env, url, "")
	return cs
}

func proxySessionFor(t testing.TB, env *testdaemon.Env, url, version string, proxyArgs ...string) (*mcp.ClientSession, *received, *syncBuffer) {
	t.Helper()
	args := append([]string{"--socket", env.Socket, "proxy", url}, proxyArgs...)
	cmd := exec.Command(xaactlBinary(t), args...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	rec := &received{progress: make(chan string, 16)}
	c := mcp.NewClient(&mcp.Implementation{Name: "proxy-test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			rec.progress <- r.Params.Message
		},
	})
	// A long TerminateDuration: the proxy must exit because stdin closed,
	// not because the SDK signalled it; a proxy that hangs fails the test
	// by its timeout.
	transport := &mcp.CommandTransport{Command: cmd, TerminateDuration: time.Hour}
	cs, err := c.Connect(context.Background(), transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect through xaactl proxy: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		cs.Close()
		checkNoToken(t, stderr.String())
	})
	return cs, rec, stderr
}

// checkNoToken fails if s holds anything shaped like a JWT (every token
// the testbed issues is one).
func checkNoToken(t testing.TB, s string) {
	t.Helper()
	for f := range strings.FieldsSeq(s) {
		if strings.Count(f, ".") >= 2 && strings.Contains(f, "eyJ") {
			t.Errorf("stderr holds what looks like a token: %q", f)
		}
	}
}

// callText calls a tool and returns its text, failing on any error.
func callText(t testing.TB, cs *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("call %s: tool error %v", name, res.Content)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// callStructured calls a tool and decodes its structured output into v.
func callStructured(t testing.TB, cs *mcp.ClientSession, name string, v any) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("call %s: %v %v", name, err, res)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
