package client

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// TokenRequest says which token [Client.GetToken] should return.
type TokenRequest struct {
	// Resource is the MCP server URL. Required.
	Resource string
	// Scopes to request; nil means the server's configured or advertised
	// scopes.
	Scopes []string
	// MinValidFor makes the daemon refresh first when the cached token
	// expires sooner than this. Zero accepts any unexpired token.
	MinValidFor time.Duration
	// ForceRefresh makes the daemon obtain a new token even if its cached
	// one is valid (for example after the server answered 401). It also
	// makes the daemon read the server's metadata again.
	ForceRefresh bool
	// DPoP, when set, asks for a proof for this request along with a
	// DPoP-bound token (Token.DPoPProof), saving a SignProof round trip.
	DPoP *DPoPRequest
	// Challenge is what the server's 401 said, passed with ForceRefresh
	// so the daemon can follow a server that moved to another
	// authorization server; [ChallengeOf] reads it from a response.
	// [Transport] sets it itself.
	Challenge *Challenge
}

// Challenge is the Bearer (or DPoP) challenge of an MCP server's 401
// (RFC 6750 §3, RFC 9728 §5.1).
type Challenge struct {
	// ResourceMetadata is the resource_metadata parameter.
	ResourceMetadata string
	// Scope is the scope parameter, space separated.
	Scope string
	// Error is the error parameter, e.g. "invalid_token".
	Error string
}

func (r TokenRequest) proto() *xaadv1.GetTokenRequest {
	p := &xaadv1.GetTokenRequest{
		Resource:     r.Resource,
		Scopes:       r.Scopes,
		ForceRefresh: r.ForceRefresh,
		Dpop:         r.DPoP.proto(),
	}
	if c := r.Challenge; c != nil {
		p.Challenge = &xaadv1.ResourceChallenge{ResourceMetadata: c.ResourceMetadata, Scope: c.Scope, Error: c.Error}
	}
	if r.MinValidFor > 0 {
		p.MinValidFor = durationpb.New(r.MinValidFor)
	}
	return p
}

// Token is an access token for one MCP server and what the daemon knows
// about it. Its String and GoString forms leave out the token itself, so
// printing a Token by mistake leaks nothing.
type Token struct {
	// AccessToken is the secret token.
	AccessToken string
	// TokenType is "Bearer", or "DPoP" for a token bound to the daemon's
	// key (see [Token.IsDPoP]).
	TokenType string
	// DPoPProof is the proof for the request TokenRequest.DPoP named, when
	// the token is DPoP-bound. It is good for that one request only; a
	// TokenProvider that caches tokens must not hand it out again.
	DPoPProof string
	// Expiry is when the token expires; zero if unknown.
	Expiry time.Time
	// Scopes are the scopes granted.
	Scopes []string
	// Resource is the server's validated RFC 9728 resource.
	Resource string
	// AuthorizationServer is the issuer that issued the token.
	AuthorizationServer string
	// Source is where the daemon found the token.
	Source xaadv1.TokenSource
	// Stale reports whether the daemon's last refresh failed and this
	// still-valid token is served anyway; StaleReason says why.
	Stale       bool
	StaleReason string
	// RefreshedAt is when the token was obtained; NextRefreshAt is when the
	// daemon plans to refresh it (zero when not planned).
	RefreshedAt   time.Time
	NextRefreshAt time.Time
}

func tokenFromProto(p *xaadv1.GetTokenResponse) *Token {
	return &Token{
		AccessToken:         p.GetAccessToken(),
		TokenType:           p.GetTokenType(),
		Expiry:              timeOf(p.GetExpiresAt()),
		Scopes:              p.GetScopes(),
		Resource:            p.GetResource(),
		AuthorizationServer: p.GetAuthorizationServer(),
		Source:              p.GetSource(),
		Stale:               p.GetStale(),
		StaleReason:         p.GetStaleReason(),
		RefreshedAt:         timeOf(p.GetRefreshedAt()),
		NextRefreshAt:       timeOf(p.GetNextRefreshAt()),
		DPoPProof:           p.GetDpopProof(),
	}
}

// timeOf converts an unset timestamp to the zero time rather than 1970.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// Type returns TokenType, or "Bearer" when the daemon left it empty, as
// RFC 6750 clients expect.
func (t Token) Type() string {
	if t.TokenType == "" {
		return "Bearer"
	}
	return t.TokenType
}

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("Token{type=%s resource=%q expiry=%s stale=%t}",
		t.Type(), t.Resource, t.Expiry.Format(time.RFC3339), t.Stale)
}

// GoString is String, so %#v does not print the secret either.
func (t Token) GoString() string { return t.String() }
