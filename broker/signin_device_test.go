package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// newFakeBed is a testbed and a signed-out broker on a clock.Fake, which
// the interactive sign-in's deadline and device polls run on. The polling
// itself is tested in broker/signin; these tests drive it only to see
// what the broker makes of the outcome.
func newFakeBed(t *testing.T, tweaks testbed.SignInTweaks) (*bed, *clock.Fake) {
	t.Helper()
	f := clock.NewFake(time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC))
	bd := newBed(t, bedOpts{tb: testbed.Options{Now: f.Now}, noSignIn: true, configure: func(c *broker.Config) {
		c.Clock = f
		c.IdP.Scopes = []string{"email"}
	}})
	bd.tb.IdP.SetSignInTweaks(tweaks)
	return bd, f
}

// loginDevice runs a device login, letting polls polls happen 5 s apart.
func loginDevice(t *testing.T, bd *bed, f *clock.Fake, polls int) (broker.IdentityInfo, error) {
	t.Helper()
	type result struct {
		info broker.IdentityInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := bd.b.LoginDevice(context.Background(), broker.LoginOptions{})
		done <- result{info, err}
	}()
	for range polls {
		f.WaitTimers(2) // the login's deadline and the poll's wait
		f.Advance(5 * time.Second)
	}
	r := <-done
	return r.info, r.err
}

func TestLoginDevice(t *testing.T) {
	bd, f := newFakeBed(t, testbed.SignInTweaks{DeviceAnswers: []string{"authorization_pending"}})
	info, err := loginDevice(t, bd, f, 2)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != broker.SignedIn || info.Subject != "alice" || !info.HasRefreshToken || !info.Verified {
		t.Errorf("identity %+v", info)
	}
	if got := bd.rec.values("scope"); !slices.Contains(got, "openid offline_access email") {
		t.Errorf("scopes sent %q", got)
	}
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
}

// A refused device sign-in has the reason of its cause and changes nothing.
func TestLoginDeviceRefused(t *testing.T) {
	tests := []struct {
		answer string
		reason broker.Reason
		msg    string
	}{
		{"access_denied", broker.ReasonIdPDenied, "the sign-in was denied at the IdP: device code grant at "},
		{"expired_token", broker.ReasonLoginRequired, "the code expired before it was entered; run `xaactl login --device` again"},
		{"invalid_client", broker.ReasonIdPDenied, "the IdP rejected xaad's client; check the [idp] section of the config: "},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			bd, f := newFakeBed(t, testbed.SignInTweaks{DeviceAnswers: []string{tt.answer}})
			_, err := loginDevice(t, bd, f, 1)
			wantReason(t, err, tt.reason)
			contains(t, err.Error(), tt.msg)
			if bd.b.Identity().State != broker.SignedOut {
				t.Error("a failed login changed the identity")
			}
		})
	}
}

// The login's deadline runs on the broker's clock; when it passes, the
// login ends as unavailable and the slot is free again.
func TestLoginTimesOut(t *testing.T) {
	for _, mode := range []string{"browser", "device"} {
		t.Run(mode, func(t *testing.T) {
			bd, f := newFakeBed(t, testbed.SignInTweaks{DeviceCodeLifetime: time.Hour})
			// Wait until the login waits: for the person (browser) or
			// between polls (device).
			login, timers := bd.b.LoginBrowser, 1
			if mode == "device" {
				login, timers = bd.b.LoginDevice, 2
			}
			done := make(chan error, 1)
			go func() { _, err := login(context.Background(), broker.LoginOptions{}); done <- err }()
			f.WaitTimers(timers)
			f.Advance(15 * time.Minute)
			err := <-done
			wantReason(t, err, broker.ReasonUpstreamUnavailable)
			contains(t, err.Error(), "did not finish within 15m0s; run `xaactl login` again")
			// A cancelled login returns at once, and says whether it got the slot.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := bd.b.LoginDevice(ctx, broker.LoginOptions{}); broker.ReasonOf(err) == broker.ReasonLoginInProgress {
				t.Fatal("the slot is still held after the deadline")
			}
		})
	}
}

func TestLoginDeviceUnsupported(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{NoDeviceEndpoint: true})
	_, err := sb.b.LoginDevice(context.Background(), broker.LoginOptions{})
	wantReason(t, err, broker.ReasonUnsupported)
}
