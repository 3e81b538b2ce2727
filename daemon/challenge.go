package daemon

import (
	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Bounds of GetTokenRequest.challenge: a URL and a scope list as long as
// any real one, and an error code.
const (
	maxChallengeURL   = 4096
	maxChallengeScope = 4096
	maxChallengeError = 256
)

// challengeOf is the 401 challenge a caller passed with a forced refresh,
// checked for size; the broker checks what the values mean.
func challengeOf(req *xaadv1.GetTokenRequest) (*broker.Challenge, error) {
	c := req.GetChallenge()
	if c == nil {
		return nil, nil
	}
	if !req.GetForceRefresh() {
		return nil, invalidArgument("challenge is only for a forced refresh after a 401: set force_refresh too")
	}
	if len(c.GetResourceMetadata()) > maxChallengeURL || len(c.GetScope()) > maxChallengeScope || len(c.GetError()) > maxChallengeError {
		return nil, invalidArgument("challenge: resource_metadata and scope may hold 4096 bytes each, error 256")
	}
	return &broker.Challenge{ResourceMetadata: c.GetResourceMetadata(), Scope: c.GetScope(), Error: c.GetError()}, nil
}
