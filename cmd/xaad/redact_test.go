package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/cmd/xaactl/cli"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// syncBuffer is written by the daemon's goroutines while the test reads.
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

// The whole demo with debug logging, then a search of everything xaad
// wrote or said (log, demo output, error texts, `xaactl status --json`,
// the audit log, the raw database file) for any token, assertion or
// secret: none may appear. A person can repeat it with
// `xaad demo --state-dir DIR` and `strings DIR/*.db | grep eyJ`.
func TestNothingSecretLeaks(t *testing.T) {
	state := filepath.Join(t.TempDir(), "demo-state")
	var out, logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- cmdDemo(ctx, []string{"--serve", "-v", "--state-dir", state}, &out, &logs) }()
	sockRE := regexp.MustCompile(`export XAAD_SOCKET=(\S+)`)
	var sock string
	for sock == "" {
		select {
		case rc := <-done:
			t.Fatalf("demo exited with %d:\n%s\n%s", rc, out.String(), logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := sockRE.FindStringSubmatch(out.String()); m != nil {
			sock = m[1]
		}
	}
	mcp := regexp.MustCompile(`MCP (http://\S+)`).FindStringSubmatch(out.String())[1]

	// What a client legitimately receives, to search for elsewhere.
	c, err := client.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.GetToken(ctx, client.TokenRequest{Resource: mcp})
	if err != nil {
		t.Fatal(err)
	}
	forced, err := c.GetToken(ctx, client.TokenRequest{Resource: mcp, ForceRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// Every error text a person may see, and the status output.
	var said bytes.Buffer
	xaactl := func(args ...string) {
		cli.Main(ctx, append([]string{"--socket", sock}, args...), strings.NewReader(""), &said, &said)
	}
	xaactl("status", "--json")
	xaactl("status")
	xaactl("token", mcp, "--scope", "no-such-scope")
	xaactl("token", "https://unknown.invalid/mcp")
	xaactl("server", "ls", "--json")
	xaactl("login", "--id-token-file", "/nonexistent")
	xaactl("audit", "--state-dir", state)
	cancel()
	if rc := <-done; rc != 0 {
		t.Fatalf("demo: %d\n%s", rc, logs.String())
	}

	files := map[string][]byte{"demo output": []byte(out.String()), "daemon log (debug)": []byte(logs.String()), "xaactl output and errors": said.Bytes()}
	entries, err := os.ReadDir(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(state, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	for _, want := range []string{"xaad.db", "audit.jsonl"} {
		if files[want] == nil {
			t.Fatalf("%s not kept in --state-dir %s", want, state)
		}
	}
	// Not vacuous: the log and the status output are there to search.
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "token_fp=") || !strings.Contains(said.String(), `"servers"`) {
		t.Fatalf("expected a debug log and status JSON to search; log:\n%s", logs.String())
	}
	if !strings.Contains(string(files["audit.jsonl"]), `"token_fp"`) {
		t.Error("the audit log has no token fingerprints")
	}
	// The demo's testbed uses the default client secrets; ask a testbed.
	tb, err := testbed.Start(testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := tb.Options()
	tb.Close()
	secrets := map[string]string{
		"a JWT (ID token, ID-JAG or access token)": "eyJ",
		"the access token":                         tok.AccessToken,
		"the refreshed access token":               forced.AccessToken,
		"the IdP client secret":                    o.IdPClient.Secret,
		"the AS client secret":                     o.ASClient.Secret,
	}
	for what, s := range secrets {
		if len(s) < 3 {
			t.Fatalf("%s is %q: nothing to search for", what, s)
		}
		for where, b := range files {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
}
