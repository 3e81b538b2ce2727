package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// The waste of background refresh, measured on a played day through the
// real broker and the testbed's request log: 1-hour tokens, one server
// used at 9:00 only, one used every 10 minutes from 9:00 to 17:00, one in
// 15-minute sessions every two hours (a use every 5 minutes), one
// keep-warm and never used. A token minted for a used server is wasted
// when no request is served from it; the least a daemon must mint is one
// per token lifetime in which the server was used (each distinct token a
// request was served from). The sessions end well before their tokens'
// refresh points, so nothing is refreshed for them (the rule before the
// recency window minted two tokens a session); the one waste left is the
// working day's last refresh, so the whole may add at most 6%.
func TestWasteOfADay(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{tb: testbed.Options{ExtraMCPServers: 3, AccessTokenLifetime: time.Hour}})
	ctx := context.Background()
	once, work, warm, sess := bd.tb.MCPs[0].URL(), bd.tb.MCPs[1].URL(), bd.tb.MCPs[2].URL(), bd.tb.MCPs[3].URL()
	for _, s := range []struct {
		url  string
		warm bool
	}{{once, false}, {work, false}, {warm, true}, {sess, false}} {
		if _, err := bd.b.AddServer(ctx, s.url, nil, s.warm); err != nil {
			t.Fatal(err)
		}
	}
	start := clock.Now() // 9:00
	served := map[string]map[string]bool{once: {}, work: {}, sess: {}}
	use := func(url string) {
		t.Helper()
		tok, err := bd.token(t, broker.TokenRequest{ServerURL: url})
		if err != nil {
			t.Fatalf("at +%s, %s: %v", clock.Now().Sub(start), url, err)
		}
		served[url][tok.AccessToken] = true
	}
	for m := time.Duration(0); m < 24*time.Hour; m += time.Minute {
		if m == 0 {
			use(once)
		}
		if m%(10*time.Minute) == 0 && m <= 8*time.Hour {
			use(work)
		}
		if m%(5*time.Minute) == 0 && m%(2*time.Hour) < 15*time.Minute && m <= 8*time.Hour {
			use(sess)
		}
		bd.b.TickForTest(ctx)
		clock.Advance(time.Minute)
	}
	bd.b.TickForTest(ctx)

	// Grants and exchanges per server, from what the testbed received.
	type calls struct {
		grants, exchanges int
		grantsAt          []time.Duration
	}
	got := map[string]*calls{once: {}, work: {}, warm: {}, sess: {}}
	for _, r := range bd.tb.RequestLog() {
		c := got[r.Form.Get("resource")]
		if c == nil || r.Status != 200 {
			continue
		}
		switch r.Endpoint {
		case testbed.EndpointASToken:
			c.grants++
			c.grantsAt = append(c.grantsAt, r.At.Sub(start))
		case testbed.EndpointIdPToken:
			c.exchanges++
		}
	}
	minted, used := 0, 0
	for _, url := range []string{once, work, sess} {
		c, n := got[url], len(served[url])
		t.Logf("%s: %d tokens minted (%d exchanges), %d served from: %.2f minted per token used",
			map[string]string{once: "used at 9:00", work: "used 9:00-17:00", sess: "in sessions"}[url], c.grants, c.exchanges, n, float64(c.grants)/float64(n))
		if c.exchanges != c.grants {
			t.Errorf("%s: %d exchanges for %d grants, want one each", url, c.exchanges, c.grants)
		}
		minted += c.grants
		used += n
	}
	t.Logf("together: %.3f minted per token used (at most 1.06); keep-warm: %d refreshes", float64(minted)/float64(used), got[warm].grants)
	if float64(minted) > 1.06*float64(used) {
		t.Errorf("%d tokens minted for %d used: more than 6%% waste", minted, used)
	}
	if c, n := got[sess], len(served[sess]); c.grants != n || n != 5 {
		t.Errorf("the sessions got %d tokens (at +%v), %d served from; want one per session, 5", c.grants, c.grantsAt, n)
	}
	if c := got[once]; c.grants != 1 {
		t.Errorf("the server used once at 9:00 got %d tokens (at +%v), want 1: nothing after its token expired", c.grants, c.grantsAt)
	}
	if c := got[work]; c.grants < 12 || c.grantsAt[len(c.grantsAt)-1] > 9*time.Hour {
		t.Errorf("the server used all day got %d tokens, the last at +%s", c.grants, c.grantsAt[len(c.grantsAt)-1])
	}
	// Keep-warm: a token held all day, refreshed before each expired.
	at := got[warm].grantsAt
	if len(at) < 30 || at[len(at)-1] < 23*time.Hour {
		t.Fatalf("the keep-warm server got %d tokens, the last at +%v", len(at), at[len(at)-1])
	}
	for i := 1; i < len(at); i++ {
		if at[i]-at[i-1] >= time.Hour {
			t.Errorf("keep-warm: no token between +%s and +%s", at[i-1], at[i])
		}
	}
}
