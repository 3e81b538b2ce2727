package daemon

import (
	"strings"
	"testing"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// A challenge comes with the forced refresh it explains; alone it is a
// caller's mistake, said as such. With it, its values reach the broker.
func TestChallengeNeedsForceRefresh(t *testing.T) {
	ch := &xaadv1.ResourceChallenge{ResourceMetadata: "https://mcp.example/.well-known/oauth-protected-resource", Scope: "a b", Error: "invalid_token"}
	if _, err := challengeOf(&xaadv1.GetTokenRequest{Resource: "https://mcp.example/", Challenge: ch}); err == nil || !strings.Contains(err.Error(), "set force_refresh") {
		t.Errorf("a challenge without force_refresh: err = %v", err)
	}
	got, err := challengeOf(&xaadv1.GetTokenRequest{Resource: "https://mcp.example/", ForceRefresh: true, Challenge: ch})
	if err != nil || got.ResourceMetadata != ch.ResourceMetadata || got.Scope != "a b" || got.Error != "invalid_token" {
		t.Errorf("challengeOf = %+v, %v", got, err)
	}
	if got, err := challengeOf(&xaadv1.GetTokenRequest{Resource: "https://mcp.example/", ForceRefresh: true}); got != nil || err != nil {
		t.Errorf("no challenge: %+v, %v", got, err)
	}
}
