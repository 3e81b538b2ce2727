package grant

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// URNs of the profile (RFC 8693 §3, draft-ietf-oauth-identity-assertion-authz-grant §3).
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	TokenTypeIDJAG     = "urn:ietf:params:oauth:token-type:id-jag"
	TokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeRefresh   = "urn:ietf:params:oauth:token-type:refresh_token"
	IDJAGType          = "oauth-id-jag+jwt"
	GrantProfileIDJAG  = "urn:ietf:params:oauth:grant-profile:id-jag"
)

// ExchangeRequest asks the IdP for an ID-JAG.
type ExchangeRequest struct {
	SubjectToken string
	// SubjectTokenType defaults to TokenTypeIDToken.
	SubjectTokenType string
	// Audience is the MCP authorization server's validated issuer, byte for byte.
	Audience string
	// Resource is the MCP server's RFC 9728 resource identifier, byte for byte.
	Resource string
	Scopes   []string
}

// IDJAG is an issued Identity Assertion JWT Authorization Grant. It is a
// single-use bearer credential: present it once, never log it.
type IDJAG struct {
	Assertion string
	ExpiresAt time.Time
	// Scopes are the granted scopes: the response's scope member, or the
	// requested ones when it is absent (RFC 8693 §2.2.1).
	Scopes   []string
	Audience string
	Resource string
}

// Exchange runs the RFC 8693 token exchange for an ID-JAG with exactly the
// parameters of the EMA profile and checks the answer: access_token present,
// issued_token_type the id-jag URN, token_type N_A (any case), and the
// ID-JAG itself as [inspectIDJAG] does (a JWS minted for what was asked and
// not yet expired, or a well-formed JWE), and, when ep proves a DPoP key,
// its cnf.jkt that key's. An ID-JAG failing a check is discarded and never
// sent to the authorization server.
func Exchange(ctx context.Context, ep *Endpoint, r ExchangeRequest) (*IDJAG, error) {
	stt := r.SubjectTokenType
	if stt == "" {
		stt = TokenTypeIDToken
	}
	form := url.Values{
		"grant_type":           {GrantTokenExchange},
		"requested_token_type": {TokenTypeIDJAG},
		"subject_token":        {r.SubjectToken},
		"subject_token_type":   {stt},
		"audience":             {r.Audience},
	}
	// EMA: send resource whenever it is known (docs/protocol.md §2 step 4).
	if r.Resource != "" {
		form.Set("resource", r.Resource)
	}
	if len(r.Scopes) > 0 {
		form.Set("scope", strings.Join(r.Scopes, " "))
	}
	tr, received, err := ep.post(ctx, "token exchange", form)
	if err != nil {
		return nil, err
	}
	name := "token exchange at " + ep.URL
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%s: %w: access_token is missing", name, ErrMalformed)
	}
	if tr.IssuedTokenType != TokenTypeIDJAG {
		return nil, fmt.Errorf("%s: %w: issued_token_type is %q, want %q", name, ErrMalformed, tr.IssuedTokenType, TokenTypeIDJAG)
	}
	if !strings.EqualFold(tr.TokenType, "N_A") {
		return nil, fmt.Errorf("%s: %w: token_type is %q, want N_A", name, ErrMalformed, tr.TokenType)
	}
	claims, err := inspectIDJAG(tr.AccessToken, r.Audience, r.Resource, received)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if ep.DPoP != nil {
		if err := checkKeyBinding(claims, ep.DPoP.Key.Thumbprint()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	ttl, ok, err := expiresIn(tr.ExpiresIn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	exp := received.Add(ttl)
	if !ok {
		exp = received.Add(5 * time.Minute)
	}
	if !claims.exp.IsZero() && claims.exp.Before(exp) {
		// The JWT's own exp bounds the local estimate when it is earlier.
		exp = claims.exp
	}
	scopes := splitScope(tr.Scope)
	if tr.Scope == "" {
		scopes = append([]string(nil), r.Scopes...)
	}
	return &IDJAG{Assertion: tr.AccessToken, ExpiresAt: exp, Scopes: scopes, Audience: r.Audience, Resource: r.Resource}, nil
}
