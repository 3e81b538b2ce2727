package client

import (
	"maps"
	"strings"

	"github.com/xaad-dev/xaad/internal/wwwauth"
)

// The WWW-Authenticate header is parsed by internal/wwwauth (RFC 9110
// §11.6.1), all or nothing: a header that breaks the grammar anywhere, or
// is longer than wwwauth.MaxHeader, holds no challenge for the client to
// act on.

// insufficientScope returns the scopes a Bearer insufficient_scope challenge
// names (RFC 6750 §3.1), and whether there is one.
func insufficientScope(lines []string) ([]string, bool) {
	chs, ok := wwwauth.ParseAll(lines)
	if !ok {
		return nil, false
	}
	for _, ch := range chs {
		if ch.Scheme == "bearer" && ch.Params["error"] == "insufficient_scope" {
			return strings.Fields(ch.Params["scope"]), true
		}
	}
	return nil, false
}

// ChallengeOf reads the challenge of a 401 from its WWW-Authenticate field
// lines: the first Bearer or DPoP challenge (a server that takes only
// DPoP-bound tokens sends only a DPoP one, RFC 9449 §7.1; RFC 9728 §5.1
// defines resource_metadata for any scheme). It returns nil when there is
// none, or the header does not follow RFC 9110 §11.6.1.
func ChallengeOf(lines []string) *Challenge {
	chs, ok := wwwauth.ParseAll(lines)
	if !ok {
		return nil
	}
	for _, ch := range chs {
		if ch.Scheme == "bearer" || ch.Scheme == "dpop" {
			return &Challenge{ResourceMetadata: ch.Params["resource_metadata"], Scope: ch.Params["scope"], Error: ch.Params["error"]}
		}
	}
	return nil
}

// BearerChallenge returns the auth-params of the first Bearer challenge in
// the WWW-Authenticate field lines of a response (RFC 6750 §3: error,
// error_description, scope, and MCP's resource_metadata), with lowercase
// names, and whether there is one. A header that does not follow RFC 9110
// §11.6.1 has none.
func BearerChallenge(lines []string) (map[string]string, bool) {
	chs, ok := wwwauth.ParseAll(lines)
	if !ok {
		return nil, false
	}
	for _, ch := range chs {
		if ch.Scheme == "bearer" {
			return maps.Clone(ch.Params), true
		}
	}
	return nil, false
}
