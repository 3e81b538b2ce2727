package daemon_test

import (
	"context"
	"encoding/base64"
	"fmt"
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
	"github.com/xaad-dev/xaad/internal/testbed"
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
	silent, err := testbed.NewSilent()
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var wg sync.WaitGroup
	var limited atomic.Int64
	for i := range 12 {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := c.GetToken(rctx, client.TokenRequest{Resource: fmt.Sprintf("%s/silent%d", silent.URL(), i)})
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

	// A request the client gave up on may still be ending in the daemon:
	// until it has, Status lists its URL as pending, after the real one.
	for guard := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		list := st.GetServers()
		if len(list) == 0 || list[0].GetUrl() != e.tb.MCP.URL() {
			t.Fatalf("Status does not list %s first: %v", e.tb.MCP.URL(), list)
		}
		for _, p := range list[1:] {
			if !strings.Contains(p.GetUrl(), "/silent") || p.GetState() != xaadv1.ServerState_SERVER_STATE_DISCOVERING {
				t.Fatalf("Status lists %s in %s; only the real server and pending silent URLs may be there", p.GetUrl(), p.GetState())
			}
		}
		if len(list) == 1 {
			break
		}
		if time.Now().After(guard) {
			t.Fatalf("the silent URLs stayed pending after their requests ended: %v", list[1:])
		}
	}
	silent.Close() // their flights end now, not at their 10 s
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

// While the first token of a URL nobody configured is on its way, Status
// lists it as DISCOVERING after the known servers; ListServers and health
// do not know it yet; once its request ends it is gone.
func TestUnlistedPendingInStatus(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	defer stop()
	c := e.dial(t)
	defer c.Close()
	e.login(t, c)
	ctx := context.Background()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	hang, err := testbed.NewSilent()
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	silent := hang.URL() + "/mcp"
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetToken(rctx, client.TokenRequest{Resource: silent})
		done <- err
	}()
	for guard := time.Now().Add(30 * time.Second); hang.Accepted() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(guard) { // a hang guard, not a timing assertion
			t.Fatal("the request never reached the silent server")
		}
	}
	// Its discovery has begun, and hangs.
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := st.GetServers()
	if len(list) != 2 || list[0].GetUrl() != e.tb.MCP.URL() || list[1].GetUrl() != silent ||
		list[1].GetState() != xaadv1.ServerState_SERVER_STATE_DISCOVERING || list[1].GetOrigin() != xaadv1.ServerOrigin_SERVER_ORIGIN_USER {
		t.Fatalf("Status while the first token of %s is on its way: %v", silent, list)
	}
	ls, err := c.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("ListServers lists %d servers, want the registered one", len(ls))
	}
	cancel()
	<-done
	for guard := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.GetServers()) == 1 {
			break
		}
		if time.Now().After(guard) {
			t.Fatalf("still pending after its request ended: %v", st.GetServers())
		}
	}
}
