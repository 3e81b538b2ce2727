package hostile

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/proto"

	"github.com/xaad-dev/xaad/client"
)

// legitTimeout bounds one legitimate call: one that takes longer counts
// as not served.
const legitTimeout = 20 * time.Second

// legit is the legitimate client, a process apart from every attacker: it
// calls as a person's tools do, throughout the run, and every call must
// succeed.
type legit struct {
	t      *Target
	xaactl string

	mu       sync.Mutex
	calls    map[string]int
	failures []string
}

func (l *legit) record(what string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[what]++
	if err != nil {
		l.failures = append(l.failures, fmt.Sprintf("%s at %s: %v", what, time.Now().Format("15:04:05.000"), err))
	}
}

// run calls until done closes: a fresh client's GetToken and Status every
// 200 ms (as `xaactl token` does, one connection per call), `xaactl token`
// every second, and a tool call through one `xaactl proxy` every second.
func (l *legit) run(done <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Go(func() { every(done, 200*time.Millisecond, l.client) })
	wg.Go(func() { every(done, time.Second, l.token) })
	wg.Go(func() { l.proxy(done) })
	wg.Wait()
}

func every(done <-chan struct{}, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

func (l *legit) client() {
	ctx, cancel := context.WithTimeout(context.Background(), legitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, l.t.Socket)
	if err != nil {
		l.record("GetToken", err)
		return
	}
	defer c.Close()
	_, err = c.GetToken(ctx, client.TokenRequest{Resource: l.t.MCP})
	l.record("GetToken", err)
	st, err := c.Status(ctx)
	if err == nil && proto.Size(st) > 4<<20 {
		err = fmt.Errorf("a Status reply of %d bytes", proto.Size(st))
	}
	l.record("Status", err)
}

func (l *legit) token() {
	ctx, cancel := context.WithTimeout(context.Background(), legitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.xaactl, "--socket", l.t.Socket, "token", l.t.MCP, "--format", "raw").CombinedOutput()
	if err == nil && strings.Count(string(out), ".") < 2 {
		err = fmt.Errorf("printed %q, not a token", out)
	} else if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	l.record("xaactl token", err)
}

// proxy runs one `xaactl proxy` for the run and calls a tool through it
// every second.
func (l *legit) proxy(done <-chan struct{}) {
	cmd := exec.Command(l.xaactl, "--socket", l.t.Socket, "proxy", l.t.MCP)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	c := mcp.NewClient(&mcp.Implementation{Name: "xaad-hostile", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), legitTimeout)
	cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	cancel()
	if err != nil {
		l.record("xaactl proxy", fmt.Errorf("connect: %v: %s", err, stderr.String()))
		return
	}
	defer cs.Close()
	every(done, time.Second, func() {
		ctx, cancel := context.WithTimeout(context.Background(), legitTimeout)
		defer cancel()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		if err == nil && res.IsError {
			err = fmt.Errorf("tool error: %v", res.Content)
		}
		l.record("xaactl proxy tools/call", err)
	})
}
