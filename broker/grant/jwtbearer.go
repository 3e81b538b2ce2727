package grant

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// BearerRequest asks an MCP authorization server for an access token.
type BearerRequest struct {
	// Assertion is the ID-JAG; it is sent once and never again.
	Assertion string
	Scopes    []string
	// Resource is the MCP server's resource identifier (RFC 8707).
	Resource string
}

// AccessToken is an issued MCP access token.
type AccessToken struct {
	Token string
	// Type is "Bearer", or "DPoP" for a token bound to the key of the
	// request's proof (RFC 9449 §5); JKT is then that key's thumbprint.
	Type      string
	JKT       string
	ExpiresAt time.Time
	// ReceivedAt is the local time the answer arrived; expiry counts from it.
	ReceivedAt time.Time
	Scopes     []string
}

// DefaultLifetime is assumed when an authorization server omits expires_in
// (RFC 6749 §5.1 only recommends it). It is short on purpose: an unknown
// lifetime is refreshed early rather than served after the server dropped it.
const DefaultLifetime = 5 * time.Minute

// MinLifetime is the shortest access token lifetime accepted.
const MinLifetime = 20 * time.Second

// JWTBearer runs the RFC 7523 §2.1 grant with the ID-JAG as assertion.
// With ep.DPoP the request carries a proof (RFC 9449 §5) and the answer may
// be a DPoP-bound token; whether a Bearer answer to a proof is acceptable
// is the caller's policy.
func JWTBearer(ctx context.Context, ep *Endpoint, r BearerRequest) (*AccessToken, error) {
	form := url.Values{
		"grant_type": {GrantJWTBearer},
		"assertion":  {r.Assertion},
	}
	if len(r.Scopes) > 0 {
		form.Set("scope", strings.Join(r.Scopes, " "))
	}
	if r.Resource != "" {
		form.Set("resource", r.Resource)
	}
	tr, received, err := ep.post(ctx, "jwt-bearer grant", form)
	if err != nil {
		return nil, err
	}
	name := "jwt-bearer grant at " + ep.URL
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%s: %w: access_token is missing", name, ErrMalformed)
	}
	typ, err := accessTokenType(tr.TokenType, ep.DPoP != nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ttl, ok, err := expiresIn(tr.ExpiresIn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !ok {
		ttl = DefaultLifetime
	}
	if ttl < MinLifetime {
		// A token that expires before it can be used and refreshed
		// would make the client refresh in a tight loop.
		return nil, fmt.Errorf("%s: %w: expires_in of %s is too short to use (minimum %s)", name, ErrMalformed, ttl, MinLifetime)
	}
	scopes := splitScope(tr.Scope)
	if tr.Scope == "" {
		scopes = append([]string(nil), r.Scopes...)
	}
	at := &AccessToken{Token: tr.AccessToken, Type: typ, ExpiresAt: received.Add(ttl), ReceivedAt: received, Scopes: scopes}
	if typ == TokenTypeDPoP {
		at.JKT = ep.DPoP.Key.Thumbprint()
	}
	return at, nil
}
