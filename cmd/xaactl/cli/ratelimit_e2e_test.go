package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// startDaemon runs a real daemon against a testbed for one test.
func startDaemon(t *testing.T, opts testdaemon.Options) *testdaemon.Env {
	t.Helper()
	env, err := testdaemon.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// One hiccup upstream (a 503 from the authorization server or the IdP, a
// grant that times out) is not an error the user sees: `xaactl token`
// succeeds after exactly one retry, and the retry presents a fresh ID-JAG.
func TestTokenSurvivesOneHiccup(t *testing.T) {
	tests := []struct {
		name  string
		ep    testbed.Endpoint
		fault testbed.Fault
		// Requests the testbed's token endpoints get, and ID-JAGs issued.
		idp, as, exchanges int
	}{
		{"503 from the AS", testbed.EndpointASToken, testbed.Fault{Status: http.StatusServiceUnavailable}, 2, 2, 2},
		{"503 from the IdP", testbed.EndpointIdPToken, testbed.Fault{Status: http.StatusServiceUnavailable}, 2, 1, 1},
		// The daemon's HTTP client gives up after 2 s; the testbed would
		// have answered after a minute.
		{"AS timeout", testbed.EndpointASToken, testbed.Fault{Latency: time.Minute}, 2, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := startDaemon(t, testdaemon.Options{HTTP: &http.Client{Timeout: 2 * time.Second}})
			tb := env.TB
			tb.QueueFault(tt.ep, 1, tt.fault)
			r := run(t, env.Socket, "", "token", tb.MCP.URL())
			if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
				t.Fatalf("token: code %d, stderr %s", r.code, r.stderr)
			}
			c := tb.Counters()
			if c.Requests[testbed.EndpointIdPToken] != tt.idp || c.Requests[testbed.EndpointASToken] != tt.as ||
				c.TokenExchanges != tt.exchanges || c.JWTBearerGrants != 1 {
				t.Errorf("IdP requests %d, AS requests %d, exchanges %d, grants %d; want %d, %d, %d, 1",
					c.Requests[testbed.EndpointIdPToken], c.Requests[testbed.EndpointASToken], c.TokenExchanges, c.JWTBearerGrants,
					tt.idp, tt.as, tt.exchanges)
			}
			seen := map[string]bool{}
			for _, rec := range tb.RequestLog() {
				if rec.Endpoint != testbed.EndpointASToken {
					continue
				}
				a := rec.Form.Get("assertion")
				if a == "" || seen[a] {
					t.Errorf("an ID-JAG was presented twice (or not at all)")
				}
				seen[a] = true
			}
		})
	}
}

// While the IdP's pause is in force, `xaactl token` fails at once with the
// time to come back, and `xaactl status` shows the endpoint held, until
// when and why, with the 429 counted.
func TestStatusShowsHolds(t *testing.T) {
	env := startDaemon(t, testdaemon.Options{})
	tb := env.TB
	tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Throttle(http.StatusTooManyRequests, "600"))
	before := time.Now()
	r := run(t, env.Socket, "", "token", tb.MCP.URL())
	if r.code != ExitUpstreamUnavailable || !strings.Contains(r.stderr, "Retry-After asks to wait 10m0s") || !strings.Contains(r.stderr, "try again after") {
		t.Fatalf("token during the pause: code %d, stderr %s", r.code, r.stderr)
	}

	r = run(t, env.Socket, "", "status", "--json")
	var st struct {
		Upstreams []struct {
			Kind          string            `json:"kind"`
			TokenEndpoint string            `json:"token_endpoint"`
			RateLimit     float64           `json:"rate_limit"`
			RateBurst     int               `json:"rate_burst"`
			Setting       string            `json:"setting"`
			HeldUntil     *time.Time        `json:"held_until"`
			HoldReason    string            `json:"hold_reason"`
			Counters      map[string]string `json:"counters"`
		} `json:"upstreams"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil || len(st.Upstreams) != 1 {
		t.Fatalf("status --json: code %d, %v:\n%s", r.code, err, r.stdout)
	}
	u := st.Upstreams[0]
	held := u.HeldUntil != nil && !u.HeldUntil.Before(before.Add(10*time.Minute-time.Second)) && !u.HeldUntil.After(time.Now().Add(10*time.Minute))
	if u.Kind != "UPSTREAM_KIND_IDP" || u.TokenEndpoint != tb.IdP.TokenEndpoint() || u.RateLimit != 2 || u.RateBurst != 2 ||
		u.Setting != "rate_limit and rate_burst in [idp]" || !held || !strings.Contains(u.HoldReason, "Retry-After") {
		t.Errorf("IdP endpoint in status --json: %+v", u)
	}
	// The 429 that was sent, and the retry the pause turned away at once.
	if c := u.Counters; c["too_many_requests"] != "1" || c["sent"] != "1" || c["refused"] != "1" || c["holds"] != "1" {
		t.Errorf("counters %v, want one request sent, answered 429, one refused", c)
	}

	r = run(t, env.Socket, "", "status")
	for _, sub := range []string{"IdP " + tb.IdP.TokenEndpoint(), "2/s, burst 2", "paused for 9m: Retry-After asks to wait 10m0s"} {
		if !strings.Contains(r.stdout, sub) {
			t.Errorf("status lacks %q:\n%s", sub, r.stdout)
		}
	}
}
