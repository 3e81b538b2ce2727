package signin_test

import (
	"slices"
	"testing"

	"github.com/xaad-dev/xaad/broker/signin"
)

func TestScopes(t *testing.T) {
	got := signin.Scopes([]string{"email openid", "profile"}, []string{"email", " groups ", ""})
	want := []string{"openid", "offline_access", "email", "profile", "groups"}
	if !slices.Equal(got, want) {
		t.Fatalf("Scopes = %q, want %q", got, want)
	}
}

// RFC 7636 Appendix B: the example verifier and its S256 challenge.
func TestPKCEChallenge(t *testing.T) {
	if got := signin.PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("challenge %q", got)
	}
}
