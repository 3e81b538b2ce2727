package daemon_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/clock"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// scopes returns the i-th of a series of different scope sets that the
// testbed grants (as tools.read).
func scopes(i int) []string { return []string{"tools.read", fmt.Sprint("x", i)} }

// A forced refresh within 10 s of another one's, from a process not yet
// handed the token that one fetched, is served that token: it was refused
// an older one. A process refused the very token forces a new one.
func TestLimitsForcedRefreshCoalesced(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	// The broker forces only for a token older than the request.
	clk.Advance(time.Second)
	exchanges := e.tb.TokenExchanges()
	forced := func() string {
		t.Helper()
		tok, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
		if err != nil {
			t.Fatal(err)
		}
		return daemonFingerprint(tok.AccessToken)
	}
	other := func() string {
		t.Helper()
		out, err := exec.Command(testProgram(t, "caller"), e.sock, e.tb.MCP.URL(), "force").CombinedOutput()
		fp, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "ok ")
		if err != nil || !ok {
			t.Fatalf("another process: %v: %s", err, out)
		}
		return fp
	}
	newExchanges := func(want int, what string) {
		t.Helper()
		if n := e.tb.TokenExchanges() - exchanges; n != want {
			t.Fatalf("%s: %d token exchanges in all, want %d", what, n, want)
		}
	}
	t1 := forced()
	newExchanges(1, "a forced refresh")
	if got := other(); got != t1 {
		t.Fatalf("another process forcing got %s, not the token just fetched %s", got, t1)
	}
	newExchanges(1, "another process forcing within 10 s")
	clk.Advance(time.Second)
	t2 := forced()
	if t2 == t1 {
		t.Fatal("a process refused the token it was handed got it again")
	}
	newExchanges(2, "the same process forcing again")
	if got := other(); got != t2 {
		t.Fatalf("another process got %s, not %s", got, t2)
	}
	clk.Advance(10 * time.Second)
	if got := other(); got == t2 {
		t.Fatal("10 s after the last forced refresh, a new process was served its token")
	}
	newExchanges(3, "another process 10 s later")
}

// daemonFingerprint is broker.Fingerprint, as testdata/caller prints it.
func daemonFingerprint(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:4])
}

// A process that forces again and again may reach the network 10 times,
// then once per 6 s; coalesced requests cost it nothing.
func TestLimitsForcedRefreshBudget(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	unlimited(e)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	force := func() error {
		clk.Advance(time.Millisecond) // the broker forces only for a token older than the request
		_, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
		return err
	}
	exchanges := e.tb.TokenExchanges()
	for i := range 10 {
		if err := force(); err != nil {
			t.Fatalf("forced %d: %v", i, err)
		}
	}
	if n := e.tb.TokenExchanges() - exchanges; n != 10 {
		t.Fatalf("%d exchanges for 10 forced refreshes of a process refused each token it got", n)
	}
	err := force()
	wantRefused(t, "the 11th forced refresh", err, codes.ResourceExhausted, daemon.ReasonLimitExceeded,
		fmt.Sprintf("process %d made 10 forced refreshes that reached the network, then one per 6s, its limit; retry in 6s", os.Getpid()))
	clk.Advance(6 * time.Second)
	if err := force(); err != nil {
		t.Fatalf("forced once the budget grew: %v", err)
	}
	if err := force(); err == nil {
		t.Fatal("a second forced refresh with one in the budget")
	}
}

// A process may ask one server for 8 different scope sets within an hour;
// the 9th is refused before any exchange.
func TestLimitsScopeSetsPerServer(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	unlimited(e)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	get := func(i int) error {
		_, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), Scopes: scopes(i)})
		return err
	}
	for i := range 8 {
		if err := get(i); err != nil {
			t.Fatalf("scope set %d: %v", i, err)
		}
	}
	exchanges := e.tb.TokenExchanges()
	err := get(8)
	wantRefused(t, "the 9th scope set", err, codes.ResourceExhausted, daemon.ReasonLimitExceeded,
		fmt.Sprintf("process %d already asked for 8 different scope sets for %s in the last 1h0m0s, the limit per process and server", os.Getpid(), e.tb.MCP.URL()))
	if n := e.tb.TokenExchanges() - exchanges; n != 0 {
		t.Fatalf("the refused scope set cost %d exchanges", n)
	}
	// The same sets in another order are the same sets.
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), Scopes: []string{"x3", "tools.read", "x3"}}); err != nil {
		t.Fatalf("a known set: %v", err)
	}
	clk.Advance(time.Hour)
	e.login(t, c) // the ID token lives an hour too
	if err := get(8); err != nil {
		t.Fatalf("a new set once the others were unused for an hour: %v", err)
	}
}

// Status and ListServers list at most 256 servers and say how many they
// leave out.
func TestLimitsStatusListsBoundedServers(t *testing.T) {
	// Servers added by hand are bounded (256, as many as a reply lists),
	// configured ones are not: 256 of each kind, then 44 configured.
	var cfg strings.Builder
	for i := 256; i < 300; i++ {
		fmt.Fprintf(&cfg, "[[server]]\nurl = \"https://mcp%03d.example/mcp\"\n", i)
	}
	e := newEnv(t, cfg.String())
	e.start(t)
	c := e.dial(t)
	ctx := t.Context()
	for i := range 256 {
		if _, err := c.AddServer(ctx, client.Server{URL: fmt.Sprintf("https://mcp%03d.example/mcp", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.AddServer(ctx, client.Server{URL: "https://one-more.example/mcp"})
	if client.ReasonOf(err) != xaadv1.Reason_REASON_LIMIT_EXCEEDED || !strings.Contains(err.Error(), "already holds 256 servers that are not in the configuration") {
		t.Fatalf("the 257th server added by hand: %v; want LIMIT_EXCEEDED naming 256", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetServers()) != 256 || st.GetServersOmitted() != 44 {
		t.Fatalf("Status lists %d servers and omits %d; want 256 and 44", len(st.GetServers()), st.GetServersOmitted())
	}
	if last := st.GetServers()[255].GetUrl(); last != "https://mcp255.example/mcp" {
		t.Errorf("the last listed is %s; want the 256th by URL", last)
	}
	if w := strings.Join(st.GetWarnings(), "\n"); !strings.Contains(w, "44 servers are not listed here: a reply lists at most 256 servers and 1024 KiB") {
		t.Errorf("warnings: %q", w)
	}
	list, err := c.Raw().ListServers(ctx, &xaadv1.ListServersRequest{})
	if err != nil || len(list.GetServers()) != 256 || list.GetServersOmitted() != 44 {
		t.Fatalf("ListServers: %d listed, %d omitted, %v", len(list.GetServers()), list.GetServersOmitted(), err)
	}
}
