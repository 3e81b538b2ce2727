package daemon

import (
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// Rate limits are read from [idp], each [[authorization_server]] and
// [default_client]; unset keys stay zero, which the broker reads as
// upstream.DefaultLimit.
func TestRateLimitSettings(t *testing.T) {
	sec := writeSecret(t, 0o600)
	fc, err := ParseConfig([]byte(`
[idp]
issuer = "https://idp.example.com"
client_id = "idp-client"
client_secret_file = "` + sec + `"
rate_limit = 0.5
rate_burst = 3

[[authorization_server]]
issuer = "https://as.example.com/"
client_id = "mcp-client"
client_secret_file = "` + sec + `"
rate_limit = 10

[[authorization_server]]
issuer = "https://as2.example.com/"
client_id = "mcp-client"
client_secret_file = "` + sec + `"

[default_client]
client_id = "any"
client_secret_file = "` + sec + `"
any_issuer = true
rate_burst = 1
`))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := fc.BrokerConfig()
	if err != nil {
		t.Fatal(err)
	}
	l := bc.Limits
	want := map[string][2]upstream.Limit{
		"idp":     {l.IdP, {Rate: 0.5, Burst: 3}},
		"as":      {l.AuthServers["https://as.example.com/"], {Rate: 10}},
		"as2":     {l.AuthServers["https://as2.example.com/"], {}},
		"default": {l.Default, {Burst: 1}},
	}
	for name, got := range want {
		if got[0] != got[1] {
			t.Errorf("%s limit %+v, want %+v", name, got[0], got[1])
		}
	}
}

// check-config reports every bad rate limit with its place and its range.
func TestRateLimitProblems(t *testing.T) {
	sec := writeSecret(t, 0o600)
	_, err := ParseConfig([]byte(`
[idp]
issuer = "https://idp.example.com"
client_id = "idp-client"
client_secret_file = "` + sec + `"
rate_limit = 0
rate_burst = 0

[[authorization_server]]
issuer = "https://as.example.com/"
client_id = "mcp-client"
client_secret_file = "` + sec + `"
rate_limit = nan
rate_burst = 5000

[default_client]
client_id = "any"
client_secret_file = "` + sec + `"
rate_limit = -inf
`))
	if err == nil {
		t.Fatal("bad rate limits accepted")
	}
	for _, want := range []string{
		"idp.rate_limit = 0: want requests per second above 0 and at most 1000",
		"idp.rate_burst = 0: want a number of requests from 1 to 1000",
		"authorization_server[0].rate_limit = NaN",
		"authorization_server[0].rate_burst = 5000",
		"default_client.rate_limit = -Inf",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problem %q not reported in:\n%v", want, err)
		}
	}
}
