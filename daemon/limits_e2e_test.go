package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/errinfo"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// refusal is what the daemon said: code, reason and message.
func refusal(err error) (codes.Code, string, string) {
	st := status.Convert(err)
	reason, _, _ := errinfo.FromStatus(st)
	return st.Code(), reason, st.Message()
}

// wantRefused fails unless err has code, reason and a message with want.
func wantRefused(t *testing.T, what string, err error, code codes.Code, reason, want string) {
	t.Helper()
	c, r, msg := refusal(err)
	if c != code || r != reason || !strings.Contains(msg, want) {
		t.Errorf("%s: %v %s %q; want %v %s and a message with %q", what, c, r, msg, code, reason, want)
	}
}

// rawConn is a new gRPC connection to the daemon, as a client of another
// package would make it.
func rawConn(t *testing.T, sock string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// Requests over a shape bound are refused with the bound named before the
// policy or the broker reads them; nothing of them is stored, and the
// daemon serves on.
func TestLimitsRequestShapes(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	good, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	long := "https://mcp.example/" + strings.Repeat("a", 5000)
	var many []string
	for i := range 33 {
		many = append(many, fmt.Sprint("s", i))
	}
	raw := c.Raw()
	const bad = daemon.ReasonLimitExceeded // never the answer to a shape
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"a 5020-byte resource", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: long})
			return err
		}, "resource is 5020 bytes; xaad accepts at most 4096"},
		{"33 scopes", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), Scopes: many})
			return err
		}, "scopes lists 33 scopes; xaad accepts at most 32 per request"},
		{"a 300-byte scope", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), Scopes: []string{strings.Repeat("s", 300)}})
			return err
		}, "a scope in scopes is 300 bytes; xaad accepts at most 256"},
		{"AddServer", func() error {
			_, err := raw.AddServer(ctx, &xaadv1.AddServerRequest{Url: long})
			return err
		}, "url is 5020 bytes"},
		{"RemoveServer", func() error {
			_, err := raw.RemoveServer(ctx, &xaadv1.RemoveServerRequest{Url: long})
			return err
		}, "url is 5020 bytes"},
		{"GetAssertion", func() error {
			_, err := raw.GetAssertion(ctx, &xaadv1.GetAssertionRequest{Target: &xaadv1.GetAssertionRequest_Audience{Audience: long}})
			return err
		}, "audience is 5020 bytes"},
		{"a DPoP nonce of 2000 bytes", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), Dpop: &xaadv1.DPoPRequest{Method: "POST", Url: e.tb.MCP.URL(), Nonce: strings.Repeat("n", 2000)}})
			return err
		}, "dpop.nonce is 2000 bytes; xaad accepts at most 1024"},
		{"a 401 challenge with a 5020-byte resource_metadata", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true, Challenge: &xaadv1.ResourceChallenge{ResourceMetadata: long}})
			return err
		}, "challenge.resource_metadata is 5020 bytes; xaad accepts at most 4096"},
		{"a 401 challenge with a 300-byte error", func() error {
			_, err := raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true, Challenge: &xaadv1.ResourceChallenge{Error: strings.Repeat("e", 300)}})
			return err
		}, "challenge.error is 300 bytes; xaad accepts at most 256"},
		{"SignProof with a 5020-byte URL", func() error {
			_, err := raw.SignProof(ctx, &xaadv1.SignProofRequest{Resource: e.tb.MCP.URL(), AccessToken: "t", Request: &xaadv1.DPoPRequest{Method: "POST", Url: long}})
			return err
		}, "request.url is 5020 bytes"},
		{"SignProof with a 70 KiB token", func() error {
			_, err := raw.SignProof(ctx, &xaadv1.SignProofRequest{Resource: e.tb.MCP.URL(), AccessToken: strings.Repeat("t", 70<<10), Request: &xaadv1.DPoPRequest{Method: "POST", Url: e.tb.MCP.URL()}})
			return err
		}, "access_token is 71680 bytes; xaad accepts at most 65536"},
		{"a 70 KiB ID token", func() error {
			s, err := raw.Login(ctx, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_IMPORT, IdToken: strings.Repeat("x", 70<<10)})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, "id_token is 71680 bytes; xaad accepts at most 65536"},
		{"65 watched URLs", func() error {
			s, err := raw.WatchTokens(ctx, &xaadv1.WatchTokensRequest{Resources: make([]string, 65)})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, "resources lists 65 URLs; one stream watches at most 64"},
	} {
		if err := tc.call(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		} else if _, r, _ := refusal(err); r == bad {
			t.Errorf("%s: refused as a usage limit: %v", tc.name, err)
		} else {
			wantRefused(t, tc.name, err, codes.InvalidArgument, "INVALID_ARGUMENT", tc.want)
		}
	}
	// Larger than a whole request: gRPC refuses it unread.
	_, err = raw.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: "https://mcp.example/" + strings.Repeat("a", 4<<20)})
	if c, _, msg := refusal(err); c != codes.ResourceExhausted || !strings.Contains(msg, "larger than max") {
		t.Errorf("a 4 MiB resource: %v", err)
	}
	list, err := c.ListServers(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("servers after the refusals: %d, %v; want only the testbed's", len(list), err)
	}
	again, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil || again.AccessToken != good.AccessToken {
		t.Fatalf("after the refusals: %v", err)
	}
}

// One process may hold 8 connections; the 9th is refused with the limit
// named, before the daemon pins the process.
func TestLimitsConnectionsPerProcess(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	ctx := t.Context()
	for i := range 8 {
		if _, err := healthpb.NewHealthClient(rawConn(t, e.sock)).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	before := pins(t)
	_, err := healthpb.NewHealthClient(rawConn(t, e.sock)).Check(ctx, &healthpb.HealthCheckRequest{})
	wantRefused(t, "the 9th connection", err, codes.ResourceExhausted, daemon.ReasonLimitExceeded,
		fmt.Sprintf("process %d already holds 8 connections to this socket, the limit per process", os.Getpid()))
	if after := pins(t); after != before {
		t.Errorf("the refused connection was pinned: %d pins, %d before", after, before)
	}
}

// pins counts the /proc/<pid> folders this process holds open: in a test
// running the daemon, one per connection it admitted (the pidfds os/exec
// keeps for child processes make pidfds useless as a count).
func pins(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if pid, ok := strings.CutPrefix(target, "/proc/"); ok && pid != "" && strings.Trim(pid, "0123456789") == "" {
			n++
		}
	}
	return n
}

var (
	programsMu sync.Mutex
	programs   = map[string]string{}
)

// testProgram builds ./testdata/name once per test run and returns it.
func testProgram(t *testing.T, name string) string {
	t.Helper()
	programsMu.Lock()
	defer programsMu.Unlock()
	if bin, ok := programs[name]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "xprog")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	programs[name] = bin
	return bin
}

// holder runs testdata/hold against sock: a process of its own that holds
// conns connections with streams health Watch streams each. It returns what
// the holder said; the holder lets go when the test ends.
func holder(t *testing.T, sock string, conns, streams int) string {
	t.Helper()
	cmd := exec.Command(testProgram(t, "hold"), sock, fmt.Sprint(conns), fmt.Sprint(streams))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// Streams stay open as long as their caller likes, each keeping its
// connection busy: a process may hold 16, all callers together 64.
func TestLimitsStreams(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	// 16 streams of two kinds on two connections fill this process's share.
	hc := healthpb.NewHealthClient(rawConn(t, e.sock))
	for i := range 16 {
		var err error
		if i%2 == 0 {
			var w xaadv1.XaadService_WatchTokensClient
			if w, err = c.Raw().WatchTokens(ctx, &xaadv1.WatchTokensRequest{}); err == nil {
				_, err = w.Recv()
			}
		} else {
			var w healthpb.Health_WatchClient
			if w, err = hc.Watch(ctx, &healthpb.HealthCheckRequest{}); err == nil {
				_, err = w.Recv()
			}
		}
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
	}
	w, err := healthpb.NewHealthClient(rawConn(t, e.sock)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	wantRefused(t, "this process's 17th stream", err, codes.ResourceExhausted, daemon.ReasonLimitExceeded,
		"already has 16 streams open (WatchTokens, health Watch, reflection, Login), the limit per process")
	// Three more processes with 16 each reach the total; a fourth is
	// refused, told so, and GetToken is still served.
	for i := range 3 {
		if got := holder(t, e.sock, 2, 8); got != "held 2 connections, 16 streams" {
			t.Fatalf("holder %d: %s", i+1, got)
		}
	}
	got := holder(t, e.sock, 1, 1)
	if want := "refused: ResourceExhausted LIMIT_EXCEEDED: xaad already serves 64 streams"; !strings.HasPrefix(got, want) {
		t.Fatalf("the fourth holder: %s; want %s...", got, want)
	}
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatalf("GetToken with every stream taken: %v", err)
	}
}

// More processes than the total admits hold idle connections: the daemon
// keeps at most 128 (so at most 128 pins), and a client that connects for
// one call still gets in.
func TestLimitsConnectionsTotal(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	var wg sync.WaitGroup
	for range 17 {
		wg.Go(func() {
			// While others connect, all may be busy for a moment: a
			// holder may then be refused, and told why.
			got := holder(t, e.sock, 8, 0)
			if got != "held 8 connections, 0 streams" && !strings.HasPrefix(got, "refused: ResourceExhausted LIMIT_EXCEEDED: this socket already holds 128 connections") {
				t.Errorf("holder: %s", got)
			}
		})
	}
	wg.Wait()
	if n := pins(t); n > 128 {
		t.Fatalf("the daemon pins %d connections, more than its total of 128", n)
	}
	one, err := client.Dial(t.Context(), e.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if _, err := one.GetToken(t.Context(), client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatalf("a new client at the total: %v", err)
	}
	if n := pins(t); n > 128 {
		t.Fatalf("the daemon pins %d connections, more than its total of 128", n)
	}
}
