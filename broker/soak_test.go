package broker_test

import (
	"context"
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

var soakHours = flag.Int("soak-hours", 12, "simulated hours of TestFaultSoak (CI runs the default; try 240)")

// TestFaultSoak fails the IdP and the authorization server at random for
// many simulated hours while a client asks every 30 s, and checks two
// invariants throughout: no client-visible error while a valid token
// existed, and never a token served past its expiry.
func TestFaultSoak(t *testing.T) {
	bd, clock := schedBed(t, bedOpts{
		tb:        testbed.Options{AccessTokenLifetime: 15 * time.Minute, IDTokenLifetime: time.Duration(*soakHours+48) * time.Hour},
		configure: func(c *broker.Config) { c.Timeout = 50 * time.Millisecond },
	})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, 42))
	faults := []testbed.Fault{
		{Status: 500},
		{Status: 503, Error: "temporarily_unavailable"},
		{Error: "server_error", Status: 500},
		{Error: "invalid_grant"},
		{Hang: true},
	}
	var last *broker.Token
	errorsSeen, served := 0, 0
	const step = 30 * time.Second
	steps := int(time.Duration(*soakHours) * time.Hour / step)
	for i := range steps {
		// Each 30 s window, an upstream fails with some probability.
		bd.tb.ClearFaults()
		if r.Float64() < 0.25 {
			ep := testbed.EndpointIdPToken
			if r.IntN(2) == 0 {
				ep = testbed.EndpointASToken
			}
			f := faults[r.IntN(len(faults))]
			if f.Error == "invalid_grant" {
				// At the IdP, invalid_grant means the sign-in is gone: a
				// NEEDS_LOGIN state, not an outage to ride out.
				ep = testbed.EndpointASToken
			}
			if f.Hang && r.IntN(10) != 0 {
				f = faults[0] // hangs cost real time: keep them rare
			}
			bd.tb.SetFault(ep, f)
		}
		clock.Advance(step)
		bd.b.TickForTest(ctx)
		now := clock.Now()
		tok, err := bd.token(t, broker.TokenRequest{})
		validExisted := last != nil && last.ExpiresAt.Sub(now) >= 10*time.Second
		switch {
		case err != nil && validExisted:
			t.Fatalf("step %d (+%s): error while a valid token existed: %v", i, time.Duration(i)*step, err)
		case err != nil:
			errorsSeen++
		case !tok.ExpiresAt.After(now):
			t.Fatalf("step %d: token served %s past its expiry", i, now.Sub(tok.ExpiresAt))
		default:
			served++
			last = tok
		}
	}
	t.Logf("%d simulated hours: %d requests served, %d failed with no valid token, %d exchanges", *soakHours, served, errorsSeen, bd.tb.TokenExchanges())
	if served < steps*9/10 {
		t.Errorf("only %d of %d requests served; the scheduler is not keeping up", served, steps)
	}
}
