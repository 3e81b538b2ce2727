package daemon_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// syncBuffer is a log sink the test can read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

// A reload (SIGHUP) that changes allowed_clients applies to the next
// request, both ways; a refused reload keeps the policy in force.
func TestReloadAppliesAllowedClients(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if self, err = filepath.EvalSymlinks(self); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "")
	mcp := e.tb.MCP.URL()
	e.path = filepath.Join(e.dir, "xaad.toml")
	logs := &syncBuffer{}
	e.log = logs
	write := func(server string) {
		t.Helper()
		if err := os.WriteFile(e.path, []byte(e.text+"\n"+server), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// reload sends SIGHUP and waits until the daemon has logged the n-th
	// outcome of a reload containing want.
	reload := func(want string) {
		t.Helper()
		n := logs.count(want)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for logs.count(want) <= n {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the daemon log after SIGHUP", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	getToken := func(c *client.Client) codes.Code {
		_, err := c.GetToken(t.Context(), client.TokenRequest{Resource: mcp})
		return status.Code(err)
	}

	write(fmt.Sprintf("[[server]]\nurl = %q\nallowed_clients = [%q]\n", mcp, self))
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	if code := getToken(c); code != codes.OK {
		t.Fatalf("listed client before reload: %v", code)
	}
	// A watcher opened while allowed.
	w, err := c.Raw().WatchTokens(t.Context(), &xaadv1.WatchTokensRequest{Resources: []string{mcp}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetKind() == xaadv1.WatchEventKind_WATCH_EVENT_KIND_SNAPSHOT_END {
			break
		}
	}

	// The test binary is taken off the list: refused from the next request.
	write(fmt.Sprintf("[[server]]\nurl = %q\nallowed_clients = [\"/nonexistent/xaad-other-client\"]\n", mcp))
	reload("configuration reloaded")
	if code := getToken(c); code != codes.PermissionDenied {
		t.Fatalf("after a reload that drops this client from allowed_clients: %v, want PermissionDenied", code)
	}
	// The open watcher is cut off at its next message, not left watching.
	for {
		_, err := w.Recv()
		if err == nil {
			continue
		}
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("watcher after the reload: %v, want PermissionDenied", err)
		}
		break
	}

	// A file that fails validation changes nothing, the policy included.
	write(fmt.Sprintf("[[server]]\nurl = %q\nallowed_clients = [\"relative/path\"]\n", mcp))
	reload("reload failed")
	if code := getToken(c); code != codes.PermissionDenied {
		t.Fatalf("after a refused reload: %v, want PermissionDenied (the previous policy)", code)
	}

	// The key removed: every caller of the uid again.
	write(fmt.Sprintf("[[server]]\nurl = %q\n", mcp))
	reload("configuration reloaded")
	if code := getToken(c); code != codes.OK {
		t.Fatalf("after a reload that removes allowed_clients: %v, want OK", code)
	}
}
