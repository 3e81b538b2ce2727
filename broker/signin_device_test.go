package broker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func TestLoginDevice(t *testing.T) {
	tests := []struct {
		name       string
		answers    []string
		interval   time.Duration
		wantWaits  []time.Duration
		wantReason broker.Reason
	}{
		{name: "approved at once", wantWaits: []time.Duration{5 * time.Second}},
		{name: "pending then slow_down", answers: []string{"authorization_pending", "slow_down", "authorization_pending"},
			// RFC 8628 §3.5: slow_down adds 5 s for this and every later poll.
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}},
		{name: "no interval means 5 s", interval: -1, wantWaits: []time.Duration{5 * time.Second}},
		{name: "interval named", interval: 2 * time.Second, answers: []string{"slow_down"}, wantWaits: []time.Duration{2 * time.Second, 7 * time.Second}},
		{name: "access denied", answers: []string{"authorization_pending", "access_denied"},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second}, wantReason: broker.ReasonIdPDenied},
		{name: "expired token", answers: []string{"expired_token"}, wantWaits: []time.Duration{5 * time.Second}, wantReason: broker.ReasonLoginRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSigninBed(t, testbed.Options{}, nil)
			sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceAnswers: tt.answers, DeviceInterval: tt.interval})
			var code *broker.DeviceCode
			done := make(chan error, 1)
			go func() {
				_, err := sb.b.LoginDevice(context.Background(), broker.LoginOptions{Emit: func(ev broker.LoginEvent) {
					if ev.Device != nil {
						code = ev.Device
					}
				}})
				done <- err
			}()
			var waits []time.Duration
			for range tt.wantWaits {
				d := sb.clock.nextWait(t)
				waits = append(waits, d)
				sb.clock.Advance(d)
			}
			err := <-done
			if !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			if got := sb.tb.IdP.SignInCounters().DevicePolls; got != len(tt.wantWaits) {
				t.Errorf("polls = %d, want %d", got, len(tt.wantWaits))
			}
			if code == nil || code.UserCode == "" || code.VerificationURI == "" {
				t.Errorf("device code event = %+v", code)
			}
			if tt.wantReason != "" {
				wantReason(t, err, tt.wantReason)
				if sb.b.Identity().State != broker.SignedOut {
					t.Error("a failed login changed the identity")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id := sb.b.Identity(); id.State != broker.SignedIn || !id.HasRefreshToken {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

// The code's own expiry ends the polling without asking the IdP again.
func TestLoginDeviceCodeExpires(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceCodeLifetime: 8 * time.Second,
		DeviceAnswers: []string{"authorization_pending", "authorization_pending", "authorization_pending"}})
	done := make(chan error, 1)
	go func() { _, err := sb.b.LoginDevice(context.Background(), broker.LoginOptions{}); done <- err }()
	sb.clock.Advance(sb.clock.nextWait(t))
	sb.clock.Advance(sb.clock.nextWait(t))
	wantReason(t, <-done, broker.ReasonLoginRequired)
	if got := sb.tb.IdP.SignInCounters().DevicePolls; got != 2 {
		t.Errorf("polls = %d, want 2", got)
	}
}

func TestLoginDeviceUnsupported(t *testing.T) {
	sb := newSigninBed(t, testbed.Options{}, nil)
	sb.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{NoDeviceEndpoint: true})
	_, err := sb.b.LoginDevice(context.Background(), broker.LoginOptions{})
	wantReason(t, err, broker.ReasonUnsupported)
}
