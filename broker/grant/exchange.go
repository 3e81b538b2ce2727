package grant

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
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
// decoded (unverified) ID-JAG's typ, aud and resource equal to what was
// asked. An ID-JAG failing a check is discarded.
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
	claims, err := inspectIDJAG(tr.AccessToken, r.Audience, r.Resource)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ttl, ok, err := expiresIn(tr.ExpiresIn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	exp := received.Add(ttl)
	if !ok {
		exp = received.Add(5 * time.Minute)
	}
	if claims.exp != 0 {
		// The JWT's own exp bounds the local estimate when it is earlier.
		if je := time.Unix(claims.exp, 0); je.Before(exp) {
			exp = je
		}
	}
	scopes := splitScope(tr.Scope)
	if tr.Scope == "" {
		scopes = append([]string(nil), r.Scopes...)
	}
	return &IDJAG{Assertion: tr.AccessToken, ExpiresAt: exp, Scopes: scopes, Audience: r.Audience, Resource: r.Resource}, nil
}

type jagClaims struct {
	Aud      json.RawMessage `json:"aud"`
	Resource json.RawMessage `json:"resource"`
	Exp      json.Number     `json:"exp"`
	exp      int64
}

// inspectIDJAG decodes the ID-JAG without verifying it (the client has no
// reason to trust or distrust the IdP's keys; the AS verifies) and checks it
// was minted for what we asked: defence in depth against an IdP bug or a
// mix-up (JAG §9.4; docs/protocol.md §6 item 8). A JWE cannot be read by the
// client and is passed through unchecked.
func inspectIDJAG(token, audience, resource string) (*jagClaims, error) {
	if strings.Count(token, ".") == 4 {
		return &jagClaims{}, nil
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{
		jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: ID-JAG is not a compact JWS with an asymmetric algorithm: %v", ErrRejectedToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: ID-JAG has %d signatures", ErrRejectedToken, len(jws.Signatures))
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string)
	// RFC 7515 §4.1.9: "application/" may be omitted and media types
	// compare case-insensitively.
	if !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), IDJAGType) {
		return nil, fmt.Errorf("%w: ID-JAG typ is %q, want %q", ErrRejectedToken, typ, IDJAGType)
	}
	var c jagClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, fmt.Errorf("%w: ID-JAG claims do not parse: %v", ErrRejectedToken, err)
	}
	if !oneValue(c.Aud, audience) {
		return nil, fmt.Errorf("%w: ID-JAG aud is %s, want %q", ErrRejectedToken, clipRaw(c.Aud), audience)
	}
	// Some IdPs omit the resource claim (docs/protocol.md §5.3 item 2); when it
	// is there it must be exactly the requested resource.
	if resource != "" && len(c.Resource) > 0 && string(c.Resource) != "null" && !oneValue(c.Resource, resource) {
		return nil, fmt.Errorf("%w: ID-JAG resource is %s, want %q", ErrRejectedToken, clipRaw(c.Resource), resource)
	}
	if c.Exp != "" {
		if v, err := c.Exp.Int64(); err == nil {
			c.exp = v
		} else if f, err := c.Exp.Float64(); err == nil {
			c.exp = int64(f)
		}
	}
	return &c, nil
}

// oneValue reports whether raw is the JSON string want, or an array holding
// exactly that one string.
func oneValue(raw json.RawMessage, want string) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == want
	}
	var arr []string
	if json.Unmarshal(raw, &arr) == nil {
		return len(arr) == 1 && arr[0] == want
	}
	return false
}

func clipRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	if len(raw) > 120 {
		return string(raw[:120]) + "..."
	}
	return string(raw)
}
