package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// idjagAlgs is the AS's algorithm allow-list (EMA §7.4.1): asymmetric only,
// so "none" and HMAC (RFC 8725 §3.1-3.2) fail at parse time.
var idjagAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// idjagClaims are the ID-JAG claims the AS checks (JAG §3.1). Wrongly typed
// members fail to decode and so reject the assertion.
type idjagClaims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      stringOrArray   `json:"aud"`
	ClientID string          `json:"client_id"`
	Jti      string          `json:"jti"`
	Exp      *numericDate    `json:"exp"`
	Iat      *numericDate    `json:"iat"`
	Nbf      *numericDate    `json:"nbf"`
	Resource *stringOrArray  `json:"resource"`
	Scope    *string         `json:"scope"`
	Cnf      json.RawMessage `json:"cnf"`
}

func (a *AS) serveToken(w http.ResponseWriter, r *http.Request) {
	form, e := tokenForm(w, r)
	var jkt string
	if e == nil {
		jkt, e = a.tb.tokenProof(w, r, a.role.tokenEP, a.TokenEndpoint())
	}
	if e == nil {
		var c Client
		if c, e = a.auth.authenticate(r, form); e == nil {
			var resp map[string]any
			switch form["grant_type"] {
			case "":
				e = invalidRequest("grant_type missing")
			case grantJWTBearer:
				resp, e = a.jwtBearer(r.Context(), c, form, jkt)
			default:
				e = errf(http.StatusBadRequest, "unsupported_grant_type", "only jwt-bearer is supported")
			}
			if e == nil {
				writeJSON(w, http.StatusOK, resp)
				return
			}
		}
	}
	writeOAuthError(w, e)
}

// jwtBearer implements RFC 7523 §2.1 with the ID-JAG rules of docs/protocol.md
// §3.3 and §6 items 24-33. jkt is the thumbprint of the request's DPoP proof
// key, "" without one.
func (a *AS) jwtBearer(ctx context.Context, c Client, form map[string]string, jkt string) (map[string]any, *oauthError) {
	assertion := form["assertion"] // repeated assertions failed in tokenForm
	if assertion == "" {
		return nil, invalidRequest("assertion missing")
	}
	resource, named := form["resource"]
	if named && !a.tb.serves(resource) {
		// RFC 8707 §2: a resource the AS does not serve is invalid_target.
		return nil, invalidTarget("resource is not served by this authorization server")
	}
	cl, e := a.validateIDJAG(ctx, c, assertion)
	if e != nil {
		return nil, e
	}
	if resource, e = idjagResource(cl, resource); e != nil {
		return nil, e
	}
	if resource == "" {
		resource = a.tb.MCP.URL()
	}
	if e := a.checkIDJAGBinding(cl, jkt); e != nil {
		return nil, e
	}
	granted, e := a.grantScopes(cl, form)
	if e != nil {
		return nil, e
	}
	now, skew := a.tb.Now(), a.tb.opts.ClockSkew
	// EMA §7.4.2: one-time jti, remembered until the assertion could no
	// longer pass the exp check; scoped by issuer. Checked last so only an
	// otherwise acceptable assertion is consumed.
	if !a.replay.use(cl.Iss+"\x00"+cl.Jti, cl.Exp.Add(skew), now) {
		return nil, invalidGrant("assertion jti already used")
	}
	tw := a.getTweaks()
	lifetime := a.tb.opts.AccessTokenLifetime
	if tw.AccessTokenLifetime != 0 {
		lifetime = tw.AccessTokenLifetime
	}
	claims := map[string]any{
		"iss":       a.issuer,
		"sub":       cl.Sub,
		"aud":       resource, // EMA §5.1: audience-restricted to the MCP server
		"client_id": c.ID,
		"jti":       randomID(),
		"iat":       now.Unix(),
		"exp":       now.Add(lifetime).Unix(),
	}
	if len(granted) > 0 {
		claims["scope"] = joinScopes(granted)
	}
	tokenType := a.bindAccessToken(claims, jkt, tw)
	at, err := sign(a.keys.current(), typAccessToken, claims)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "server_error", "cannot sign access token")
	}
	a.tb.stats.add(func(c *Counters) { c.JWTBearerGrants++ })
	// RFC 6749 §5.1; no refresh token (JAG §4.4.3 SHOULD NOT).
	resp := map[string]any{
		"access_token": at,
		"token_type":   tokenType,
		"expires_in":   int64(lifetime.Seconds()),
	}
	if len(granted) > 0 {
		resp["scope"] = joinScopes(granted)
	}
	if tw.RefreshTokenInResponse {
		resp["refresh_token"] = randomID()
	}
	return resp, nil
}

// validateIDJAG applies docs/protocol.md §3.3 items 2-9 and 11.
func (a *AS) validateIDJAG(ctx context.Context, c Client, assertion string) (*idjagClaims, *oauthError) {
	if strings.Count(assertion, ".") == 4 {
		return nil, invalidGrant("encrypted assertions are not supported")
	}
	jws, err := jose.ParseSignedCompact(assertion, idjagAlgs)
	if err != nil {
		return nil, invalidGrant("assertion is not a compact JWS with an allowed alg")
	}
	// The issuer picks the keys, so read it before verifying; nothing else
	// from the unverified payload is used.
	var peek struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &peek) != nil {
		return nil, invalidGrant("assertion claims are not a JSON object")
	}
	if peek.Iss == a.issuer {
		// JAG §9.3: never accept an assertion from our own trust domain.
		return nil, invalidGrant("assertion issued by this authorization server")
	}
	keys, trusted := a.trusted[peek.Iss]
	if !trusted {
		return nil, invalidGrant("assertion issuer is not trusted")
	}
	payload, err := a.verifyIDJAGSignature(ctx, assertion, keys)
	if err != nil {
		return nil, invalidGrant("assertion: %v", err)
	}
	var cl idjagClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, invalidGrant("assertion claims: %v", err)
	}
	if e := a.checkIDJAGClaims(c, &cl); e != nil {
		return nil, e
	}
	return &cl, nil
}

// verifyIDJAGSignature checks typ and signature, refetching the issuer's
// JWKS once when the kid is unknown (key rotation).
func (a *AS) verifyIDJAGSignature(ctx context.Context, assertion string, keys *remoteKeys) ([]byte, error) {
	_, payload, err := verifyWith(assertion, idjagAlgs, typIDJAG, keys.cached())
	if errors.Is(err, errUnknownKID) {
		set, ferr := keys.refresh(ctx)
		if ferr != nil {
			return nil, ferr
		}
		_, payload, err = verifyWith(assertion, idjagAlgs, typIDJAG, set)
	}
	return payload, err
}

func (a *AS) checkIDJAGClaims(c Client, cl *idjagClaims) *oauthError {
	opts := a.tb.opts
	// Step 5: aud is the issuer, as a string or a one-element array; the
	// token endpoint URL (plain RFC 7523) and slash variants are refused.
	if len(cl.Aud.vals) != 1 || cl.Aud.vals[0] != a.issuer {
		return invalidGrant("assertion aud is not this authorization server's issuer")
	}
	// Step 6 (RFC 7523 §3 items 4-6).
	if err := timeChecks(a.tb.Now(), opts.ClockSkew, cl.Exp, cl.Iat, cl.Nbf); err != nil {
		return invalidGrant("assertion: %v", err)
	}
	if cl.Exp.Sub(cl.Iat.Time) > opts.MaxAssertionLifetime {
		return invalidGrant("assertion lifetime exceeds %s", opts.MaxAssertionLifetime)
	}
	// Step 7: exact, case-sensitive.
	if cl.ClientID != c.ID {
		return invalidGrant("assertion client_id is not the authenticated client")
	}
	if cl.Sub == "" {
		return invalidGrant("assertion sub missing")
	}
	if cl.Jti == "" {
		return invalidGrant("assertion jti missing")
	}
	// Step 9: every resource value must be our MCP server. An absent claim
	// is accepted because this AS governs exactly one resource; the access
	// token is then pinned to it (docs/protocol.md §5.3 item 2).
	if cl.Resource != nil {
		if len(cl.Resource.vals) == 0 {
			return invalidGrant("assertion resource is empty")
		}
		for _, r := range cl.Resource.vals {
			if !a.tb.serves(r) {
				return invalidGrant("assertion resource is not served by this authorization server")
			}
		}
	}
	// Step 11, cnf, needs the request's DPoP proof: checkIDJAGBinding.
	return nil
}

// grantScopes is step 10: the ID-JAG scopes registered for the resource,
// intersected with the request's scope parameter when sent (EMA §7.2.1 read
// as "requested ∩ ID-JAG").
func (a *AS) grantScopes(cl *idjagClaims, form map[string]string) ([]string, *oauthError) {
	var jag []string
	if cl.Scope != nil {
		jag = intersect(scopeList(*cl.Scope), a.tb.opts.Scopes)
	}
	req, sent := form["scope"]
	if !sent {
		return jag, nil
	}
	granted := intersect(scopeList(req), jag)
	if len(granted) == 0 {
		return nil, errf(http.StatusBadRequest, "invalid_scope", "requested scope not granted by the assertion")
	}
	return granted, nil
}

// idjagResource is the resource the access token is for: the one the
// request names, which the ID-JAG's resource claim must then include (the
// IdP bound the grant to it, EMA §7.6.1); without one, the ID-JAG's single
// resource, else "" (the AS then pins the token to its first MCP server,
// docs/protocol.md §5.3 item 2).
func idjagResource(cl *idjagClaims, requested string) (string, *oauthError) {
	switch {
	case cl.Resource == nil && requested == "":
		return "", nil
	case cl.Resource == nil:
		return requested, nil
	case requested == "" && len(cl.Resource.vals) == 1:
		return cl.Resource.vals[0], nil
	case requested == "":
		return "", invalidTarget("the assertion names several resources; name one")
	case !slices.Contains(cl.Resource.vals, requested):
		return "", invalidGrant("assertion is not for the requested resource")
	}
	return requested, nil
}
