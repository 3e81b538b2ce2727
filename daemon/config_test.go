package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker"
)

func writeSecret(t *testing.T, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("s3cret\n"), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseConfigValid(t *testing.T) {
	sec := writeSecret(t, 0o600)
	fc, err := ParseConfig([]byte(`
[idp]
issuer = "https://idp.example.com"
client_id = "idp-client"
client_secret_file = "` + sec + `"

[[authorization_server]]
issuer = "https://as.example.com/"
client_id = "mcp-client"
client_secret_file = "` + sec + `"
dpop = "required"

[[server]]
url = "https://mcp.example.com/mcp"
scopes = ["repo.read"]
dpop = "off"
`))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := fc.BrokerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if bc.IdP.Auth.Secret != "s3cret" {
		t.Error("secret not read or newline kept")
	}
	if bc.AuthServers["https://as.example.com/"].Method != "client_secret_basic" {
		t.Errorf("AS auth method default: %q", bc.AuthServers["https://as.example.com/"].Method)
	}
	if !bc.AllowUnlisted {
		t.Error("allow_unlisted_servers should default to true")
	}
	if bc.AuthServerDPoP["https://as.example.com/"] != broker.DPoPRequired || bc.Servers[0].DPoP != broker.DPoPOff {
		t.Errorf("dpop policies: %v, %q", bc.AuthServerDPoP, bc.Servers[0].DPoP)
	}
}

func TestParseConfigProblems(t *testing.T) {
	loose := writeSecret(t, 0o644)
	_, err := ParseConfig([]byte(`
colour = "blue"
[daemon]
log_level = "loud"
[idp]
issuer = "http://idp.example.com"
client_id = ""
auth_method = "magic"
[[authorization_server]]
issuer = "https://as.example.com"
client_id = "c"
client_secret_file = "` + loose + `"
dpop = "always"
[[server]]
url = "ftp://x"
[[server]]
url = "https://mcp.example.com/mcp"
scopes = ["offline_access"]
dpop = "Required"
`))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`unknown key "colour"`, "log_level", "idp.issuer", "idp.client_id is required", `auth_method "magic"`,
		"readable by others", "server[0].url", "offline_access",
		`authorization_server[0].dpop "always": want "auto"`, `server[1].dpop "Required"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problem %q not reported in:\n%s", want, msg)
		}
	}
}

func TestParseConfigGarbage(t *testing.T) {
	if _, err := ParseConfig([]byte("[idp\nissuer=")); err == nil {
		t.Fatal("garbage accepted")
	}
}
