package daemon

import (
	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Bounds of GetTokenRequest.challenge besides its URL (maxURLBytes): a
// scope list as long as any real one, and an error code.
const (
	maxChallengeScopeBytes = 4096
	maxChallengeErrorBytes = 256
)

// checkChallenge is checkShape's part for GetTokenRequest.challenge.
func checkChallenge(field string, c *xaadv1.ResourceChallenge) error {
	return firstErr(checkURLLen(field+".resource_metadata", c.GetResourceMetadata()),
		checkLen(field+".scope", c.GetScope(), maxChallengeScopeBytes), checkLen(field+".error", c.GetError(), maxChallengeErrorBytes))
}

// challengeOf is the 401 challenge a caller passed with a forced refresh
// (its size checked by checkShape); the broker checks what the values
// mean.
func challengeOf(req *xaadv1.GetTokenRequest) (*broker.Challenge, error) {
	c := req.GetChallenge()
	if c == nil {
		return nil, nil
	}
	if !req.GetForceRefresh() {
		return nil, invalidArgument("challenge is only for a forced refresh after a 401: set force_refresh too")
	}
	return &broker.Challenge{ResourceMetadata: c.GetResourceMetadata(), Scope: c.GetScope(), Error: c.GetError()}, nil
}
