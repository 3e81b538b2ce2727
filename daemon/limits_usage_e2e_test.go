package daemon_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
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

// Forced refreshes of one token at once, or within 10 s of the last one,
// are served the token that one fetched: one exchange, not fifty.
func TestLimitsForcedRefreshCoalesced(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	first, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	exchanges := e.tb.TokenExchanges()
	clk.Advance(time.Second) // a forced refresh wants a token newer than the request
	tokens := make([]string, 50)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			tok, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
			if err != nil {
				t.Errorf("forced request %d: %v", i, err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	for i, tok := range tokens {
		if tok == first.AccessToken || tok != tokens[0] {
			t.Fatalf("forced request %d got another token than the one forced refresh fetched", i)
		}
	}
	clk.Advance(8 * time.Second)
	again, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
	if err != nil || again.AccessToken != tokens[0] {
		t.Fatalf("forced 8 s later: %v, same token %v", err, err == nil && again.AccessToken == tokens[0])
	}
	if n := e.tb.TokenExchanges() - exchanges; n != 1 {
		t.Fatalf("%d token exchanges for 51 forced requests within 10 s, want 1", n)
	}
	clk.Advance(2 * time.Second) // 10 s after the forced refresh ended
	later, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true})
	if err != nil || later.AccessToken == tokens[0] {
		t.Fatalf("forced 10 s later: %v, a new token %v", err, err == nil && later.AccessToken != tokens[0])
	}
}

// A process may force 10 refreshes that reach the network, then one per
// 6 s; coalesced ones cost it nothing.
func TestLimitsForcedRefreshBudget(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
	e.start(t)
	c := e.dial(t)
	e.login(t, c)
	ctx := t.Context()
	force := func(i int) error {
		_, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), Scopes: scopes(i), ForceRefresh: true})
		return err
	}
	for i := range 8 {
		if err := force(i); err != nil {
			t.Fatalf("forced %d: %v", i, err)
		}
	}
	clk.Advance(10 * time.Second) // one more in the budget: 3 left
	for i := range 3 {
		if err := force(i); err != nil {
			t.Fatalf("forced %d again: %v", i, err)
		}
	}
	err := force(3)
	wantRefused(t, "the 12th forced refresh", err, codes.ResourceExhausted, daemon.ReasonLimitExceeded,
		fmt.Sprintf("process %d made 10 forced refreshes that reached the network, then one per 6s, its limit; retry in 2s", os.Getpid()))
	if err := force(0); err != nil {
		t.Fatalf("a coalesced forced request with the budget spent: %v", err)
	}
	clk.Advance(2 * time.Second)
	if err := force(3); err != nil {
		t.Fatalf("forced once the budget grew: %v", err)
	}
}

// A process may ask one server for 8 different scope sets within an hour;
// the 9th is refused before any exchange.
func TestLimitsScopeSetsPerServer(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := newEnvOn(t, "", clk)
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
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	ctx := t.Context()
	for i := range 300 {
		if _, err := c.AddServer(ctx, client.Server{URL: fmt.Sprintf("https://mcp%03d.example/mcp", i)}); err != nil {
			t.Fatal(err)
		}
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
