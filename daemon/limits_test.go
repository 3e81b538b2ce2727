package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
)

// A server too large for what is left of the byte budget is skipped and
// counted; smaller ones after it are still listed.
func TestListServersByteBudget(t *testing.T) {
	big := strings.Repeat("e", 300<<10)
	var all []broker.ServerInfo
	for i := range 4 {
		all = append(all, broker.ServerInfo{URL: fmt.Sprintf("https://s%d.example/mcp", i), LastError: big})
	}
	all = append(all, broker.ServerInfo{URL: "https://small.example/mcp"})
	list, omitted := listServers(all)
	if len(list) != 4 || omitted != 1 || list[3].GetUrl() != "https://small.example/mcp" {
		t.Fatalf("listed %d (last %s), omitted %d; want 3 large and the small one, 1 omitted", len(list), list[len(list)-1].GetUrl(), omitted)
	}
}

func TestStreamCount(t *testing.T) {
	var c streamCount
	a := callerID{pid: 1, start: 1}
	var releases []func()
	for range maxStreamsPerProcess {
		r, err := c.acquire(a)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, err := c.acquire(a); err == nil || !strings.Contains(err.Error(), "the limit per process") {
		t.Fatalf("over the share: %v", err)
	}
	// The same pid started again is another caller.
	if _, err := c.acquire(callerID{pid: 1, start: 2}); err != nil {
		t.Fatalf("a reused pid: %v", err)
	}
	releases[0]()
	releases[0]() // a second release frees nothing more
	if _, err := c.acquire(a); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := c.acquire(a); err == nil {
		t.Fatal("a double release freed two places")
	}
	for pid := int32(2); c.total < maxStreams; pid++ {
		if _, err := c.acquire(callerID{pid: pid}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.acquire(callerID{pid: 999}); err == nil || !strings.Contains(err.Error(), "its limit for all callers together") {
		t.Fatalf("over the total: %v", err)
	}
}

// A forced request while another forced refresh of its token runs waits
// and is served its token; so is one just after, from a caller not handed
// that token yet; a caller that was handed it forces, and after a failed
// one, anybody forces.
func TestForceGate(t *testing.T) {
	clk := clock.NewFake(time.Now())
	g := newForceGate(clk)
	a, b := callerID{pid: 1}, callerID{pid: 2}
	force, done, err := g.admit(context.Background(), a, "k")
	if !force || err != nil {
		t.Fatalf("first: force %v, %v", force, err)
	}
	joined := make(chan bool)
	go func() {
		// Whether this arrives before or after done, it must not force:
		// b was never handed the new token.
		f, _, err := g.admit(context.Background(), b, "k")
		joined <- f || err != nil
	}()
	g.handedOut(a, "k", "T1")
	done("T1", nil)
	if <-joined {
		t.Fatal("a forced request during or just after another forced refresh forced again")
	}
	if force, done, err := g.admit(context.Background(), a, "k"); !force || err != nil {
		t.Fatalf("the caller handed T1 forcing again: force %v, %v", force, err)
	} else {
		done("T2", nil)
	}
	g.handedOut(b, "k", "T1")
	if force, _, err := g.admit(context.Background(), b, "k"); force || err != nil {
		t.Fatalf("a caller handed T1, after T2 was fetched: force %v, %v", force, err)
	}
	clk.Advance(forceWindow)
	if force, done, err := g.admit(context.Background(), b, "k"); !force || err != nil {
		t.Fatalf("past the window: force %v, %v", force, err)
	} else {
		done("", errors.New("upstream down"))
	}
	if force, done, err := g.admit(context.Background(), a, "k"); !force || err != nil {
		t.Fatalf("after a failed forced refresh: force %v, %v", force, err)
	} else {
		defer done("T3", nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := g.admit(ctx, b, "k"); err == nil {
		t.Fatal("a cancelled caller waiting for a running refresh was not let go")
	}
}

// The table of forced refreshes is bounded: when every tracked one still
// coalesces, a new one is refused rather than remembered.
func TestForceGateTableBounded(t *testing.T) {
	g := newForceGate(clock.NewFake(time.Now()))
	for i := range maxTrackedForces {
		force, done, err := g.admit(context.Background(), callerID{pid: int32(i)}, fmt.Sprint("k", i))
		if !force || err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		done("T", nil)
	}
	_, _, err := g.admit(context.Background(), callerID{pid: -1}, "one more")
	if err == nil || !strings.Contains(err.Error(), "forced refreshes are running or were made in the last 10s") {
		t.Fatalf("over the table: %v", err)
	}
	if len(g.budgets) > maxTrackedCallers {
		t.Fatalf("%d budgets kept, more than %d", len(g.budgets), maxTrackedCallers)
	}
	for i := range maxTrackedCallers + 1 {
		g.handedOut(callerID{pid: int32(i)}, "k", "T")
	}
	if len(g.handed) > maxTrackedCallers {
		t.Fatalf("%d handed tokens kept, more than %d", len(g.handed), maxTrackedCallers)
	}
}

func TestScopeQuotaTableBounded(t *testing.T) {
	clk := clock.NewFake(time.Now())
	q := newScopeQuota(clk)
	for i := range maxTrackedCallers + 10 {
		if err := q.use(callerID{pid: int32(i)}, "https://s.example/mcp", nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	if len(q.used) > maxTrackedCallers {
		t.Fatalf("%d callers tracked, more than %d", len(q.used), maxTrackedCallers)
	}
	if _, ok := q.used[callerServer{caller: callerID{pid: 0}, server: q.hash("https://s.example/mcp")}]; ok {
		t.Fatal("the caller used longest ago was kept")
	}
}
