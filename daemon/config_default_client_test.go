package daemon

import (
	"slices"
	"strings"
	"testing"
)

// A [default_client] with a secret must say where the secret may go: the
// issuers it was made for, or any_issuer = true. Without either the
// configuration is refused with the two ways to allow it; keys and public
// clients need neither.
func TestDefaultClientMustNameItsIssuers(t *testing.T) {
	sec := writeSecret(t, 0o600)
	base := "[idp]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nauth_method = \"none\"\n[default_client]\nclient_id = \"d\"\n"
	for _, tc := range []struct {
		name, section string
		problem       []string // empty: accepted
	}{
		{"secret alone", `client_secret_file = "` + sec + `"`, []string{"default_client uses a client secret", "issuers = [", "any_issuer = true"}},
		{"secret with issuers", `client_secret_file = "` + sec + `"` + "\nissuers = [\"https://as.example.com/\"]", nil},
		{"secret with any_issuer", `client_secret_file = "` + sec + `"` + "\nany_issuer = true", nil},
		{"both", `client_secret_file = "` + sec + `"` + "\nissuers = [\"https://as.example.com/\"]\nany_issuer = true", []string{"contradict"}},
		{"bad issuer", `client_secret_file = "` + sec + `"` + "\nissuers = [\"ftp://as.example.com\"]", []string{"default_client.issuers[0]"}},
		{"public client", `auth_method = "none"`, nil},
	} {
		fc, err := ParseConfig([]byte(base + tc.section + "\n"))
		if len(tc.problem) == 0 {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
				continue
			}
			bc, err := fc.BrokerConfig()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !slices.Equal(bc.DefaultClientIssuers, fc.DefaultClient.Issuers) || bc.DefaultClientAnyIssuer != fc.DefaultClient.AnyIssuer {
				t.Errorf("%s: the broker got issuers %q, any %t", tc.name, bc.DefaultClientIssuers, bc.DefaultClientAnyIssuer)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, want := range tc.problem {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", tc.name, err, want)
			}
		}
	}
}
