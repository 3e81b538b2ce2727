package signin_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/signin"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func (p *idp) device() signin.Device {
	return signin.Device{
		Authorization: p.endpoint(p.tb.IdP.DeviceURL()), Token: p.endpoint(p.tb.IdP.TokenEndpoint()),
		Scopes: signin.Scopes([]string{"email"}, nil), Clock: p.clock,
	}
}

// events collects what a sign-in emitted.
type events struct {
	mu  sync.Mutex
	all []signin.Event
}

func (e *events) add(ev signin.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) list() []signin.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

// runDevice runs d, moving the clock by each wait it arms, n times, and
// returns the waits and the result.
func runDevice(t *testing.T, p *idp, d signin.Device, n int) ([]time.Duration, *grant.OIDCTokens, error) {
	t.Helper()
	type result struct {
		toks *grant.OIDCTokens
		err  error
	}
	done := make(chan result, 1)
	go func() {
		toks, err := d.Run(context.Background())
		done <- result{toks, err}
	}()
	var waits []time.Duration
	for range n {
		w := p.clock.nextWait(t)
		waits = append(waits, w)
		p.clock.Advance(w)
	}
	r := <-done
	return waits, r.toks, r.err
}

func TestDevicePolling(t *testing.T) {
	tests := []struct {
		name      string
		answers   []string
		interval  time.Duration
		wantWaits []time.Duration
		wantKind  signin.Kind
		wantErr   string
	}{
		{name: "approved at once", wantWaits: []time.Duration{5 * time.Second}},
		{name: "pending then slow_down", answers: []string{"authorization_pending", "slow_down", "authorization_pending"},
			// RFC 8628 §3.5: slow_down adds 5 s for this and every later poll.
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}},
		{name: "no interval means 5 s", interval: -1, wantWaits: []time.Duration{5 * time.Second}},
		{name: "interval named", interval: 2 * time.Second, answers: []string{"slow_down"}, wantWaits: []time.Duration{2 * time.Second, 7 * time.Second}},
		{name: "access denied", answers: []string{"authorization_pending", "access_denied"},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second}, wantKind: signin.Refused, wantErr: "the sign-in was denied at the IdP: "},
		{name: "expired token", answers: []string{"expired_token"}, wantWaits: []time.Duration{5 * time.Second},
			wantKind: signin.Expired, wantErr: "the code expired before it was entered; run `xaactl login --device` again"},
		{name: "invalid grant", answers: []string{"invalid_grant"}, wantWaits: []time.Duration{5 * time.Second},
			wantKind: signin.Grant, wantErr: "the IdP refused the device code: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t)
			p.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceAnswers: tt.answers, DeviceInterval: tt.interval})
			var evs events
			d := p.device()
			d.Emit = evs.add
			waits, toks, err := runDevice(t, p, d, len(tt.wantWaits))
			if !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			if got := p.tb.IdP.SignInCounters().DevicePolls; got != len(tt.wantWaits) {
				t.Errorf("polls = %d, want %d", got, len(tt.wantWaits))
			}
			all := evs.list()
			if len(all) < 2 || all[0].Device == nil || all[0].Device.UserCode == "" || all[0].Device.VerificationURI == "" ||
				all[0].Device.Interval != tt.wantWaits[0] || all[1].Progress != "waiting for the code to be entered" {
				t.Errorf("events %+v", all)
			}
			if tt.wantKind != 0 {
				if kindOf(err) != tt.wantKind || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want kind %d %q", err, tt.wantKind, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if toks.IDToken == "" || toks.RefreshToken == "" {
				t.Errorf("tokens %+v", toks)
			}
			if q := p.tb.IdP.SignInCounters().DeviceGrants; q != 1 {
				t.Errorf("device grants = %d", q)
			}
		})
	}
}

// Each slow_down is told to the person.
func TestDeviceSlowDownProgress(t *testing.T) {
	p := newIdP(t)
	p.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceAnswers: []string{"slow_down"}})
	var evs events
	d := p.device()
	d.Emit = evs.add
	if _, _, err := runDevice(t, p, d, 2); err != nil {
		t.Fatal(err)
	}
	all := evs.list()
	if len(all) != 3 || all[2].Progress != "the IdP asked xaad to poll more slowly; now every 10s" {
		t.Fatalf("events %+v", all)
	}
}

// The code's own expiry ends the polling without asking the IdP again.
func TestDeviceCodeExpires(t *testing.T) {
	p := newIdP(t)
	p.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceCodeLifetime: 8 * time.Second,
		DeviceAnswers: []string{"authorization_pending", "authorization_pending", "authorization_pending"}})
	_, _, err := runDevice(t, p, p.device(), 2)
	if kindOf(err) != signin.Expired {
		t.Fatalf("err = %v, want Expired", err)
	}
	if got := p.tb.IdP.SignInCounters().DevicePolls; got != 2 {
		t.Errorf("polls = %d, want 2", got)
	}
}

// Connection trouble doubles the interval and polling goes on (RFC 8628
// §3.5); so does a 503.
func TestDeviceBacksOffOnTrouble(t *testing.T) {
	p := newIdP(t)
	p.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Status: 503})
	p.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Body: []byte("<html>proxy error</html>")})
	waits, _, err := runDevice(t, p, p.device(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}

func TestDeviceAuthorizationRefused(t *testing.T) {
	p := newIdP(t)
	p.tb.QueueFault(testbed.EndpointIdPDevice, 1, testbed.Fault{Error: "unauthorized_client"})
	_, err := p.device().Run(context.Background())
	var oe *grant.OAuthError
	if kindOf(err) != signin.Grant || !errors.As(err, &oe) || oe.Code != "unauthorized_client" ||
		!strings.HasPrefix(err.Error(), "the IdP refused the device authorization: ") {
		t.Fatalf("err = %v", err)
	}
}

// The deadline runs on the injected clock, beside the polling.
func TestDeviceTimesOut(t *testing.T) {
	p := newIdP(t)
	p.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceCodeLifetime: time.Hour,
		DeviceAnswers: slices.Repeat([]string{"authorization_pending"}, 100)})
	d := p.device()
	d.Timeout = 12 * time.Second
	done := make(chan error, 1)
	go func() { _, err := d.Run(context.Background()); done <- err }()
	if w := p.clock.nextWait(t); w != d.Timeout {
		t.Fatalf("first timer %s, want the %s deadline", w, d.Timeout)
	}
	for range 2 {
		p.clock.Advance(p.clock.nextWait(t))
	}
	p.clock.nextWait(t) // the third poll's wait, which the deadline cuts short
	p.clock.Advance(2 * time.Second)
	err := <-done
	if kindOf(err) != signin.TimedOut || err.Error() != "the device sign-in did not finish within 12s; run `xaactl login` again: context deadline exceeded" {
		t.Fatalf("err = %v", err)
	}
	if got := p.tb.IdP.SignInCounters().DevicePolls; got != 2 {
		t.Errorf("polls = %d, want 2", got)
	}
	if n := p.clock.Waiters(); n != 0 {
		t.Errorf("%d timers left behind", n)
	}
}

func TestDeviceCancel(t *testing.T) {
	p := newIdP(t)
	ctx, cancel := context.WithCancel(context.Background())
	d := p.device()
	d.Emit = func(ev signin.Event) {
		if ev.Device != nil {
			cancel()
		}
	}
	_, err := d.Run(ctx)
	if !errors.Is(err, context.Canceled) || err.Error() != "the device sign-in was cancelled: context canceled" {
		t.Fatalf("err = %v", err)
	}
}
