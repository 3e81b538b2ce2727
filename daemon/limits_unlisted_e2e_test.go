package daemon_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/clock"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
	"github.com/xaad-dev/xaad/storage"
)

// Over the socket: requests for URLs nobody configured cost one discovery
// each and nothing after, the daemon registers and stores none of them,
// the unlisted slots full answer LIMIT_EXCEEDED (ResourceExhausted) naming
// the limit, and the real server is served throughout and stored.
func TestUnlistedServersOverTheSocket(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	e := newEnvOn(t, "", clk)
	stop := e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := context.Background()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}

	var asked atomic.Int64
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer junk.Close()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: junk.URL + "/one"}); client.ReasonOf(err) != xaadv1.Reason_REASON_DISCOVERY_FAILED {
		t.Fatalf("a 404 URL: %v, want DISCOVERY_FAILED", err)
	}
	one := asked.Load()
	for i := range 200 {
		_, err := c.GetToken(ctx, client.TokenRequest{Resource: fmt.Sprintf("%s/u%d", junk.URL, i%100)})
		if client.ReasonOf(err) != xaadv1.Reason_REASON_DISCOVERY_FAILED {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// 100 URLs, each asked twice: the second is answered from memory.
	if n := asked.Load() - one; n != 100*one {
		t.Fatalf("200 requests for 100 unknown URLs made %d upstream requests, want one discovery (%d) per URL", n, one)
	}
	before := asked.Load()
	for range 6 {
		clk.Advance(time.Hour)
		time.Sleep(10 * time.Millisecond) // the refresh loop's turn; nothing may be due for junk
	}
	if n := asked.Load() - before; n != 0 {
		t.Fatalf("%d upstream requests while nobody asked", n)
	}
	e.login(t, c) // the ID token lives an hour

	// URLs that never answer: they take the unlisted slots, and the rest
	// are refused, naming the limit, within their deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	held.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	})
	closeSilent := func() {
		ln.Close()
		held.Wait()
		mu.Lock()
		for _, conn := range conns {
			conn.Close()
		}
		mu.Unlock()
	}
	defer closeSilent()
	var wg sync.WaitGroup
	var limited atomic.Int64
	for i := range 12 {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := c.GetToken(rctx, client.TokenRequest{Resource: fmt.Sprintf("http://%s/silent%d", ln.Addr(), i)})
			if status.Code(err) == codes.ResourceExhausted || client.ReasonOf(err) == xaadv1.Reason_REASON_LIMIT_EXCEEDED {
				limited.Add(1)
				if !strings.Contains(err.Error(), "unlisted first tokens at once") {
					t.Errorf("the limit is not named: %v", err)
				}
			}
		})
	}
	// Meanwhile the real server is served (on the same connection: 13
	// calls of the 16 it may make at once).
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true}); err != nil {
		t.Fatalf("the real server while the slots are full: %v", err)
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Fatal("12 URLs that never answer, 4 slots: none was refused")
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetServers()) != 1 || st.GetServers()[0].GetUrl() != e.tb.MCP.URL() {
		t.Fatalf("Status lists %d servers, want only %s", len(st.GetServers()), e.tb.MCP.URL())
	}
	closeSilent() // their flights end now, not at their 10 s
	c.Close()
	stop()

	raw, err := os.ReadFile(filepath.Join(e.dir, "data.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	db, err := storage.Open(filepath.Join(e.state, "xaad.db"), &storage.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	servers, err := db.List("servers")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := servers[e.tb.MCP.URL()]; len(servers) != 1 || !ok {
		t.Fatalf("%d server records stored, want the real server's alone", len(servers))
	}
}
