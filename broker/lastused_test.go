package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

// A restart keeps the lifetime rule's knowledge: a token asked for since
// it was obtained is still planned for a refresh after a clean restart;
// one nobody asked for is not; after a crash (no Close) a used token
// counts as unused until the next request, which plans it again.
func TestLastUsedSurvivesRestart(t *testing.T) {
	store := storage.NewMem()
	bd, clock := schedBed(t, bedOpts{tb: testbed.Options{ExtraMCPServers: 1}, configure: func(c *broker.Config) { c.Store = store }})
	ctx := context.Background()
	used, idle := bd.tb.MCPs[0].URL(), bd.tb.MCPs[1].URL()
	for _, url := range []string{used, idle} {
		if _, err := bd.token(t, broker.TokenRequest{ServerURL: url}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(30 * time.Minute) // within the quarter of its lifetime before its refresh
	if _, err := bd.token(t, broker.TokenRequest{ServerURL: used}); err != nil {
		t.Fatal(err)
	}
	next := func(b *broker.Broker, url string) time.Time {
		t.Helper()
		for _, s := range b.Servers() {
			if s.URL == url {
				return s.NextRefreshAt
			}
		}
		t.Fatalf("no server %s", url)
		return time.Time{}
	}
	planned := next(bd.b, used)
	if planned.IsZero() || !next(bd.b, idle).IsZero() {
		t.Fatalf("before the restart: used planned at %s, idle at %s", planned, next(bd.b, idle))
	}

	// A crash: nothing stored the use.
	crashed := reopen(t, bd.cfg)
	if !next(crashed, used).IsZero() {
		t.Fatalf("after a crash the used token is planned at %s", next(crashed, used))
	}
	if _, err := crashed.Token(ctx, broker.TokenRequest{ServerURL: used}); err != nil {
		t.Fatal(err)
	}
	if next(crashed, used).IsZero() {
		t.Fatal("a request after the crash did not plan the token again")
	}

	// A clean stop stores it.
	bd.b.Close(ctx)
	restarted := reopen(t, bd.cfg)
	if n := next(restarted, used); n.IsZero() || n.Before(planned.Add(-5*time.Minute)) || n.After(planned.Add(5*time.Minute)) {
		t.Errorf("after a restart the used token is planned at %s, want about %s", n, planned)
	}
	if n := next(restarted, idle); !n.IsZero() {
		t.Errorf("after a restart the idle token is planned at %s", n)
	}
	if n := bd.tb.JWTBearerGrants(); n != 2 {
		t.Errorf("%d grants, want 2: the restarts fetched nothing", n)
	}
}

// reopen builds a second broker on cfg's store, as a daemon restart does.
func reopen(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}
