package broker_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

// stepClock is a clock.Fake whose one-shot timers also report their
// length when armed, so a test learns how long the code under test wants
// to wait and moves time by exactly that (SPIRE's WaitForAfter), without
// sleeping.
type stepClock struct {
	*clock.Fake
	armed chan time.Duration
}

func newStepClock() *stepClock {
	return &stepClock{Fake: clock.NewFake(time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)), armed: make(chan time.Duration, 64)}
}

func (c *stepClock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).C() }

func (c *stepClock) NewTimer(d time.Duration) clock.Timer {
	t := c.Fake.NewTimer(d)
	c.armed <- d
	return t
}

// nextWait returns the next timer armed. The 30 s bound only stops a hung
// test; nothing is timed by it.
func (c *stepClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no timer was armed")
		return 0
	}
}

// signinBed is a testbed and a broker on a step clock with a store.
type signinBed struct {
	*bed
	clock *stepClock
	store broker.Store
	notes *noteLog
}

type noteLog struct {
	mu    sync.Mutex
	infos []broker.IdentityInfo
}

func (n *noteLog) add(i broker.IdentityInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.infos = append(n.infos, i)
}

func (n *noteLog) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.infos)
}

func newSigninBed(t *testing.T, tbo testbed.Options, store broker.Store) *signinBed {
	t.Helper()
	clock := newStepClock()
	tbo.Now = clock.Now
	if store == nil {
		store = storage.NewMem()
	}
	notes := &noteLog{}
	bd := newBed(t, bedOpts{tb: tbo, noSignIn: true, configure: func(c *broker.Config) {
		c.Clock = clock
		c.Store = store
		c.OnNeedsLogin = notes.add
		c.IdP.Scopes = []string{"email"}
		// The tests step this clock only by the timers they expect; a
		// rate limit's wait would be one more (see schedBed).
		c.Limits = broker.Limits{IdP: unlimited, Default: unlimited}
	}})
	// These tests follow the ID token loop's timers to the plan's times;
	// the cap on its sleeps has a test of its own (idrefresh_test.go).
	bd.b.SetIDSleepCapForTest(0)
	return &signinBed{bed: bd, clock: clock, store: store, notes: notes}
}

// reopen builds a second broker on the same store, as a daemon restart does.
func (sb *signinBed) reopen(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.New(sb.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.SetIDSleepCapForTest(0)
	return b
}

// browser follows an authorization URL as a browser would: to the IdP,
// then along its redirect to the broker's loopback listener. It returns
// the final status and page.
func browser(t *testing.T, authURL string, edit func(*url.URL)) (int, string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(u)
	}
	for range 3 {
		resp, err := hc.Get(u.String())
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			return resp.StatusCode, string(body)
		}
		if u, err = u.Parse(resp.Header.Get("Location")); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("too many redirects")
	return 0, ""
}

// loginBrowser runs a browser login and drives it with browser; it
// returns the login's result and the page the browser saw.
func (sb *signinBed) loginBrowser(t *testing.T, b *broker.Broker, edit func(*url.URL)) (broker.IdentityInfo, string, error) {
	t.Helper()
	urls := make(chan string, 1)
	type result struct {
		info broker.IdentityInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := b.LoginBrowser(context.Background(), broker.LoginOptions{Emit: func(ev broker.LoginEvent) {
			if ev.OpenURL != "" {
				urls <- ev.OpenURL
			}
		}})
		done <- result{info, err}
	}()
	var page string
	var r result
	select {
	case u := <-urls:
		_, page = browser(t, u, edit)
		r = <-done
	case r = <-done:
	}
	// The login's own deadline (15 min on the broker's clock) is the
	// first timer it armed; the test's nextWait is about the timers after.
	select {
	case d := <-sb.clock.armed:
		if d != 15*time.Minute {
			t.Fatalf("the login armed a %s timer before its 15 min deadline", d)
		}
	default:
	}
	return r.info, page, r.err
}

func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
