package daemon

import (
	"strings"
	"testing"
	"time"
)

// idle_after reaches the broker as a duration; unset is the lifetime rule
// (zero); bad values, values out of bounds and keep_warm with idle_after
// are each reported, by the validator check-config shares.
func TestConfigIdleAfter(t *testing.T) {
	sec := writeSecret(t, 0o600)
	head := `
[idp]
issuer = "https://idp.example.com"
client_id = "idp-client"
client_secret_file = "` + sec + `"
`
	fc, err := ParseConfig([]byte(head + `
[[server]]
url = "https://a.example.com/mcp"
idle_after = "8h"
[[server]]
url = "https://b.example.com/mcp"
[[server]]
url = "https://c.example.com/mcp"
keep_warm = true
`))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := fc.BrokerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if s := bc.Servers; s[0].IdleAfter != 8*time.Hour || s[1].IdleAfter != 0 || s[1].KeepWarm || !s[2].KeepWarm || s[2].IdleAfter != 0 {
		t.Errorf("servers: %+v", s)
	}

	_, err = ParseConfig([]byte(head + `
[[server]]
url = "https://a.example.com/mcp"
idle_after = "eight hours"
[[server]]
url = "https://b.example.com/mcp"
idle_after = "10s"
[[server]]
url = "https://c.example.com/mcp"
idle_after = "400h"
[[server]]
url = "https://d.example.com/mcp"
idle_after = "1h"
keep_warm = true
`))
	if err == nil {
		t.Fatal("bad idle_after accepted")
	}
	for _, want := range []string{
		`server[0].idle_after = "eight hours": want a duration`,
		`server[1].idle_after = "10s": want from 1m0s to 168h`,
		`server[2].idle_after = "400h"`,
		`server[3]: keep_warm = true refreshes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problem %q not reported in:\n%s", want, err)
		}
	}
}
