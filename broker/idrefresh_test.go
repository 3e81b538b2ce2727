package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

func TestIDRefreshAt(t *testing.T) {
	iat := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		life, want time.Duration
	}{{time.Hour, 40 * time.Minute}, {9 * time.Minute, 6 * time.Minute}, {0, -20 * time.Minute}} {
		if got := broker.IDRefreshAt(iat, iat.Add(tt.life)).Sub(iat); got != tt.want {
			t.Errorf("life %s: refresh after %s, want %s", tt.life, got, tt.want)
		}
	}
}

// storedRefreshToken reads the refresh token of the stored identity.
func storedRefreshToken(t *testing.T, st broker.Store) string {
	t.Helper()
	all, err := st.List("identity")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		RefreshToken string `json:"refresh_token"`
	}
	if raw, ok := all["current"]; ok {
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatal(err)
		}
	}
	return rec.RefreshToken
}

// runLoop runs the refresh loop until stop (or the test's end).
func runLoop(t *testing.T, b *broker.Broker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.RunIdentityRefreshForTest(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// The loop refreshes at two thirds of the ID token's life, stores the
// rotated refresh token before using it, and a restarted broker carries
// on with the stored one: the IdP never sees a rotated-out token again.
func TestIdentityRefreshRotationAcrossRestart(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	first := storedRefreshToken(t, sb.store)
	stop := runLoop(t, sb.b)
	if d := sb.clock.nextWait(t); d != 40*time.Minute {
		t.Fatalf("first refresh planned in %s, want 40m", d)
	}
	sb.clock.Advance(40 * time.Minute)
	if d := sb.clock.nextWait(t); d != 40*time.Minute {
		t.Fatalf("next refresh planned in %s, want 40m from the new token", d)
	}
	second := storedRefreshToken(t, sb.store)
	if second == first || !sb.tb.IdP.HasRefreshToken(second) || sb.tb.IdP.HasRefreshToken(first) {
		t.Fatal("the rotated refresh token was not stored")
	}
	if id := sb.b.Identity(); !id.ExpiresAt.After(sb.clock.Now().Add(59 * time.Minute)) {
		t.Errorf("ID token not renewed: expires %s", id.ExpiresAt)
	}

	// A restart: the first broker stops, a second one on the same store
	// refreshes with the stored token.
	stop()
	b2 := sb.reopen(t)
	runLoop(t, b2)
	if d := sb.clock.nextWait(t); d != 40*time.Minute {
		t.Fatalf("after restart: refresh planned in %s", d)
	}
	sb.clock.Advance(40 * time.Minute)
	sb.clock.nextWait(t)
	third := storedRefreshToken(t, sb.store)
	if third == second || !sb.tb.IdP.HasRefreshToken(third) {
		t.Fatal("the restarted broker did not rotate the stored token")
	}
	if c := sb.tb.IdP.SignInCounters(); c.RefreshReuses != 0 {
		t.Errorf("the IdP saw %d refresh token reuses", c.RefreshReuses)
	}
}

// failingStore fails identity writes while fail is set: a crash of the
// store between receiving a rotated refresh token and storing it.
type failingStore struct {
	broker.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) Put(bucket, key string, v []byte) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail && bucket == "identity" {
		return errors.New("disk full")
	}
	return f.Store.Put(bucket, key, v)
}

func (f *failingStore) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

// When the rotated refresh token cannot be stored, the broker keeps it in
// memory (the old one is dead at the IdP), goes on working, and stores it
// as soon as the store works again; a restart then uses it. Nothing is
// lost and no token is reused.
func TestIdentityRefreshStoreFailure(t *testing.T) {
	fs := &failingStore{Store: storage.NewMem()}
	sb := newSigninBed(t, testbed.Options{}, fs)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	first := storedRefreshToken(t, fs)
	fs.setFail(true)
	stop := runLoop(t, sb.b)
	sb.clock.Advance(sb.clock.nextWait(t)) // the refresh, whose write fails
	// The loop writes the refused record again shortly, not at the next
	// refresh.
	if d := sb.clock.nextWait(t); d != 5*time.Second {
		t.Fatalf("store retry planned in %s, want 5s", d)
	}
	if storedRefreshToken(t, fs) != first {
		t.Fatal("the store changed although it failed")
	}
	// GetToken still works: the identity in memory holds the new tokens.
	if _, err := sb.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	fs.setFail(false)
	sb.clock.Advance(5 * time.Second)
	sb.clock.nextWait(t)
	stored := storedRefreshToken(t, fs)
	if stored == first || !sb.tb.IdP.HasRefreshToken(stored) {
		t.Fatal("the rotated refresh token never reached the store")
	}
	stop()
	b2 := sb.reopen(t)
	if _, err := b2.Token(context.Background(), broker.TokenRequest{ServerURL: sb.tb.MCP.URL(), Force: true}); err != nil {
		t.Fatal(err)
	}
	if c := sb.tb.IdP.SignInCounters(); c.RefreshReuses != 0 {
		t.Errorf("refresh token reused %d times", c.RefreshReuses)
	}
}

// A suspend stops the monotonic clock timers run on while the wall clock
// goes on: a refresh that came due while the machine slept is made within
// a capped sleep of the resume, not after the whole timer it was planned
// with. The loop also turns at least that often, for the watchdog.
func TestIdentityRefreshAfterSuspend(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.b.SetIDSleepCapForTest(broker.IDMaxSleep)
	if _, _, err := sb.loginBrowser(t, sb.b, nil); err != nil {
		t.Fatal(err)
	}
	first := storedRefreshToken(t, sb.store)
	runLoop(t, sb.b)
	if d := sb.clock.nextWait(t); d != broker.IDMaxSleep {
		t.Fatalf("the loop sleeps %s, want at most %s", d, broker.IDMaxSleep)
	}
	turns := sb.b.IdentityTurns()
	sb.clock.Jump(45 * time.Minute) // asleep past the refresh 40 min in
	sb.clock.Advance(broker.IDMaxSleep)
	sb.clock.nextWait(t) // planned again after the refresh
	if second := storedRefreshToken(t, sb.store); second == first {
		t.Fatal("the refresh due during the suspend was not made after the resume")
	}
	if sb.b.IdentityTurns() == turns {
		t.Error("the loop's turns did not count")
	}
}
