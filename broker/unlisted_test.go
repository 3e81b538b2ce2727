package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

// junkServer is a real HTTP server on loopback that counts every request:
// with garbage set it answers 200 with a body that is no metadata, else
// 404, as a URL that is no MCP server does.
func junkServer(t *testing.T, garbage bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if garbage {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("<html>not what you asked for"))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// hangingListener accepts connections and never answers, until the
// test ends.
func hangingListener(t *testing.T) *testbed.Silent {
	t.Helper()
	s, err := testbed.NewSilent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// boltStore is a real bbolt store in the test's folder.
func boltStore(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "xaad.db"), &storage.Options{Key: storage.NewKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func storedKeys(t *testing.T, db *storage.DB, bucket string) []string {
	t.Helper()
	m, err := db.List(bucket)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// 1,000 requests for URLs nobody configured, none of them an MCP server:
// each costs at most one discovery, asking again at once costs nothing,
// nothing is stored, and nothing goes out afterwards while nobody asks,
// however long the daemon runs (failed discovery used to be retried for
// 12 hours: 3,000 such requests made 52,976 more in the next 70 s).
func TestUnlistedFloodCostsOneDiscoveryEach(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db := boltStore(t)
	bd := newBed(t, bedOpts{clock: clk, configure: func(c *broker.Config) { c.Store = db }})
	ctx := context.Background()
	notFound, nfCount := junkServer(t, false)
	garbage, gCount := junkServer(t, true)

	// What one discovery of each kind costs.
	perTry := map[*atomic.Int64]int64{}
	for _, k := range []struct {
		base  string
		count *atomic.Int64
	}{{notFound.URL, nfCount}, {garbage.URL, gCount}} {
		if _, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: k.base + "/first"}); err == nil {
			t.Fatalf("%s yielded a token", k.base)
		}
		perTry[k.count] = k.count.Load()
		if perTry[k.count] == 0 {
			t.Fatalf("%s was never asked", k.base)
		}
	}
	urls := make([]string, 1000)
	for i := range urls {
		base := notFound.URL
		if i%2 == 1 {
			base = garbage.URL
		}
		urls[i] = fmt.Sprintf("%s/mcp%d", base, i)
	}
	ask := func() {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 8 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(len(urls)); i = next.Add(1) - 1 {
					_, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: urls[i]})
					if r := broker.ReasonOf(err); r != broker.ReasonDiscoveryFailed && r != broker.ReasonUpstreamUnavailable {
						t.Errorf("%s: %v (%s)", urls[i], err, r)
					}
				}
			})
		}
		wg.Wait()
	}
	ask()
	nf, g := nfCount.Load()-perTry[nfCount], gCount.Load()-perTry[gCount]
	if nf > 500*perTry[nfCount] || g > 500*perTry[gCount] {
		t.Fatalf("1,000 requests made %d+%d upstream requests; one discovery each is at most %d+%d", nf, g, 500*perTry[nfCount], 500*perTry[gCount])
	}
	t.Logf("1,000 requests for unknown URLs: %d upstream requests (404: %d per discovery, garbage: %d)", nf+g, perTry[nfCount], perTry[gCount])
	// Asked again within the 30 s their failure is remembered: answered
	// from memory.
	before := nfCount.Load() + gCount.Load()
	ask()
	if n := nfCount.Load() + gCount.Load() - before; n != 0 {
		t.Fatalf("asking again at once made %d upstream requests", n)
	}
	// Nobody asks for 12 hours.
	for range 12 * 6 {
		clk.Advance(10 * time.Minute)
		bd.b.TickForTest(ctx)
	}
	if n := nfCount.Load() + gCount.Load() - before; n != 0 {
		t.Fatalf("%d upstream requests while nobody asked", n)
	}
	if got := bd.b.Servers(); len(got) != 0 {
		t.Fatalf("%d servers registered, e.g. %s", len(got), got[0].URL)
	}
	if k := storedKeys(t, db, "servers"); len(k) != 0 {
		t.Fatalf("%d server records stored, e.g. %q", len(k), k[0])
	}
	if k := storedKeys(t, db, "tokens"); len(k) != 0 {
		t.Fatalf("%d token records stored", len(k))
	}
	// Past the 30 s, a request tries again, once.
	before = nfCount.Load()
	if _, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: urls[0]}); err == nil {
		t.Fatal("a token from a 404")
	}
	if n := nfCount.Load() - before; n != perTry[nfCount] {
		t.Fatalf("a request after the failure was forgotten made %d requests, want one discovery (%d)", n, perTry[nfCount])
	}
}

// Requests for the same unknown URL at the same time share one try,
// forced ones too (the daemon's forced refresh path ends here).
func TestUnlistedConcurrentRequestsJoinOneFlight(t *testing.T) {
	bd := newBed(t, bedOpts{})
	var count atomic.Int64
	hold := make(chan struct{})
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		<-hold
		http.NotFound(w, r)
	}))
	t.Cleanup(junk.Close)
	url := junk.URL + "/shared"
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: url, Force: i%2 == 0}); err == nil {
				t.Error("a token from a 404")
			}
		})
	}
	for bd.b.PendingForTest(url) < 50 {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	one := count.Load()
	// A forced request after the failure tries again; an unforced one is
	// answered from memory.
	if _, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: url}); err == nil {
		t.Fatal("a token from a 404")
	}
	if count.Load() != one {
		t.Fatalf("a request right after the failure made %d upstream requests", count.Load()-one)
	}
	if _, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: url, Force: true}); err == nil {
		t.Fatal("a token from a 404")
	}
	if n := count.Load() - one; n != one {
		t.Fatalf("50 requests for one URL made %d upstream requests and a forced one after them %d; one discovery each", one, n)
	}
}

// 300 unknown URLs that accept and never answer take the unlisted slots
// only: a registered server's background refresh still runs while they
// are being asked for (they used to fill all 8 refresh slots, and a real
// server's token expired).
func TestUnlistedHangingURLsLeaveRefreshAlone(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	bd := newBed(t, bedOpts{clock: clk})
	ctx := context.Background()
	first, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil { // in use, so refreshed in the background
		t.Fatal(err)
	}
	silent := hangingListener(t)
	hang := silent.URL()
	var wg sync.WaitGroup
	var limited, other atomic.Int64
	for i := range 300 {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			_, err := bd.b.Token(rctx, broker.TokenRequest{ServerURL: fmt.Sprintf("%s/mcp%d", hang, i)})
			switch {
			case broker.ReasonOf(err) == broker.ReasonLimitExceeded:
				limited.Add(1)
				if !strings.Contains(err.Error(), "the limit of unlisted") {
					t.Errorf("the limit is not named: %v", err)
				}
			case err != nil:
				other.Add(1)
			default:
				t.Error("a token from a server that never answers")
			}
		})
	}
	// The slots are taken, and every URL beyond the pending bound refused.
	for silent.Accepted() < broker.UnlistedSlots || limited.Load() < 300-broker.MaxUnlistedPending {
		time.Sleep(time.Millisecond)
	}
	exchanges := bd.tb.TokenExchanges()
	clk.Advance(first.ExpiresAt.Sub(clk.Now()) - 15*time.Minute)
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil { // still in use
		t.Fatal(err)
	}
	clk.Advance(14 * time.Minute)
	if n := bd.b.TickForTest(ctx); n != 1 {
		t.Fatalf("%d refreshes ran, want the registered server's", n)
	}
	if bd.tb.TokenExchanges() != exchanges+1 {
		t.Fatal("the registered server's refresh did not reach the IdP")
	}
	tok := bd.b.CachedToken(bd.tb.MCP.URL())
	if tok == nil || tok.AccessToken == first.AccessToken {
		t.Fatal("the registered server's token was not renewed")
	}
	if n := silent.Accepted(); n > broker.UnlistedSlots {
		t.Fatalf("%d connections to the hanging URLs; the unlisted slots are %d", n, broker.UnlistedSlots)
	}
	now, cancel := context.WithCancel(ctx)
	cancel()
	bd.b.Close(now) // cancels the hanging flights
	wg.Wait()
	if limited.Load()+other.Load() != 300 {
		t.Fatalf("%d limited, %d other failures, want 300 in all", limited.Load(), other.Load())
	}
}

// An unlisted server is stored once it yielded a token; beyond the bound,
// the one used longest ago goes as `server rm` would remove it: from
// memory, the store, the refresh plan and watchers.
func TestUnlistedEvictionAtTheBound(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db := boltStore(t)
	bd := newBed(t, bedOpts{clock: clk, tb: testbed.Options{ExtraMCPServers: 2}, configure: func(c *broker.Config) {
		c.Store, c.MaxUnlistedServers = db, 2
	}})
	url := func(i int) string { return bd.tb.MCPs[i].URL() }
	get := func(i int) {
		t.Helper()
		if _, err := bd.token(t, broker.TokenRequest{ServerURL: url(i)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	get(0)
	get(1)
	get(0) // 1 is now the one used longest ago
	if got := storedKeys(t, db, "servers"); !slices.Equal(got, sortedCopy([]string{url(0), url(1)})) {
		t.Fatalf("stored servers %q", got)
	}
	sub := bd.b.Subscribe(nil)
	defer sub.Close()
	get(2)
	var urls []string
	for _, s := range bd.b.Servers() {
		urls = append(urls, s.URL)
	}
	if want := []string{url(0), url(2)}; !slices.Equal(urls, sortedCopy(want)) {
		t.Fatalf("servers %q, want %q", urls, want)
	}
	if got := storedKeys(t, db, "servers"); !slices.Equal(got, sortedCopy([]string{url(0), url(2)})) {
		t.Fatalf("stored servers %q", got)
	}
	for _, k := range storedKeys(t, db, "tokens") {
		if strings.HasPrefix(k, url(1)+"\x00") {
			t.Fatal("the evicted server's token is still stored")
		}
	}
	removed := false
	for len(sub.C) > 0 {
		if ev := <-sub.C; ev.Kind == broker.EventRemoved && ev.Server.URL == url(1) {
			removed = true
		}
	}
	if !removed {
		t.Fatal("watchers did not see the evicted server removed")
	}
	if bd.b.CachedToken(url(1)) != nil {
		t.Fatal("the evicted server's token is still held")
	}
	// Asked for again, it is a new unlisted server: it evicts the one
	// used longest ago now (0).
	get(1)
	if got := storedKeys(t, db, "servers"); !slices.Equal(got, sortedCopy([]string{url(1), url(2)})) {
		t.Fatalf("stored servers %q, want %q and %q", got, url(1), url(2))
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Records from before the bound (every URL asked for once was stored)
// are held to it at start-up: those without a token are evictable, a
// server added by hand is not.
func TestUnlistedLegacyRecordsHeldToTheBound(t *testing.T) {
	db := boltStore(t)
	put := func(url string, added bool) {
		t.Helper()
		rec := fmt.Sprintf(`{"v":1,"url":%q}`, url)
		if added {
			rec = fmt.Sprintf(`{"v":1,"url":%q,"added":true}`, url)
		}
		if err := db.Put("servers", url, []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		put(fmt.Sprintf("http://127.0.0.1:9/junk%d", i), false)
	}
	put("http://127.0.0.1:9/mine", true)
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) { c.Store, c.MaxUnlistedServers = db, 3 }})
	stored := storedKeys(t, db, "servers")
	if len(stored) != 3 || !slices.Contains(stored, "http://127.0.0.1:9/mine") {
		t.Fatalf("stored after start-up: %q; want 3, the one added by hand among them", stored)
	}
	if n := len(bd.b.Servers()); n != 3 {
		t.Fatalf("%d servers registered after start-up, want 3", n)
	}
	// A new proven server takes a junk one's place.
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	stored = storedKeys(t, db, "servers")
	if len(stored) != 3 || !slices.Contains(stored, "http://127.0.0.1:9/mine") || !slices.Contains(stored, bd.tb.MCP.URL()) {
		t.Fatalf("stored: %q", stored)
	}
}

// A URL whose first token is on its way is listed by PendingServers as
// discovering, not by Servers (it is not registered), and leaves the list
// when its request ends.
func TestUnlistedPendingIsListed(t *testing.T) {
	bd := newBed(t, bedOpts{})
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	silent := hangingListener(t)
	hang := silent.URL()
	url := hang + "/mcp"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := bd.b.Token(ctx, broker.TokenRequest{ServerURL: url})
		done <- err
	}()
	guard := time.Now().Add(30 * time.Second) // a hang guard, not a timing assertion
	for silent.Accepted() == 0 {
		if time.Now().After(guard) {
			t.Fatal("the request never reached the hanging server")
		}
		time.Sleep(time.Millisecond)
	}
	pending := bd.b.PendingServers()
	if len(pending) != 1 || pending[0].URL != url || pending[0].State != broker.ServerDiscovering || pending[0].Origin != broker.OriginUser {
		t.Fatalf("pending while its discovery hangs: %+v", pending)
	}
	for _, s := range bd.b.Servers() {
		if s.URL == url {
			t.Fatalf("Servers lists %s before it yielded a token", url)
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a token from a server that never answers")
	}
	if pending := bd.b.PendingServers(); len(pending) != 0 {
		t.Fatalf("pending after its request ended: %+v", pending)
	}
}
