package testbed

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// serveToken is the IdP token endpoint. Client authentication comes first so
// an unauthenticated caller learns nothing about its tokens (EMA §7.7).
func (p *IdP) serveToken(w http.ResponseWriter, r *http.Request) {
	form, e := tokenForm(w, r)
	var jkt string
	if e == nil && form["grant_type"] == grantTokenExchange {
		// Only the exchange binds what it issues (JAG §7.4.1.1).
		jkt, e = p.tb.tokenProof(w, r, EndpointIdPToken, p.TokenEndpoint())
	}
	if e == nil {
		var c Client
		if c, e = p.auth.authenticate(r, form); e == nil {
			var resp map[string]any
			switch gt := form["grant_type"]; gt {
			case "":
				e = invalidRequest("grant_type missing")
			case grantTokenExchange:
				resp, e = p.exchange(c, form, jkt)
			case grantRefreshToken:
				resp, e = p.refreshGrant(c, form)
			case grantAuthorizationCode:
				resp, e = p.codeGrant(c, form)
			case grantDeviceCode:
				resp, e = p.deviceGrantToken(c, form)
			default:
				e = errf(http.StatusBadRequest, "unsupported_grant_type", "grant_type not supported")
			}
			if e == nil {
				writeJSON(w, http.StatusOK, resp)
				return
			}
		}
	}
	writeOAuthError(w, e)
}

// exchange implements RFC 8693 §2 for the ID-JAG profile (JAG §4.3,
// docs/protocol.md §2 step 4 and §6 items 20-23). jkt is the thumbprint of the
// request's DPoP proof key, "" without one.
func (p *IdP) exchange(c Client, form map[string]string, jkt string) (map[string]any, *oauthError) {
	switch rtt := form["requested_token_type"]; {
	case rtt == "":
		return nil, invalidRequest("requested_token_type missing")
	case rtt != tokenTypeIDJAG:
		return nil, invalidRequest("requested_token_type must be %s", tokenTypeIDJAG)
	}
	if form["subject_token"] == "" {
		return nil, invalidRequest("subject_token missing")
	}
	if stt := form["subject_token_type"]; stt != tokenTypeIDToken && stt != tokenTypeRefresh {
		// The testbed IdP is OIDC only: no SAML subjects; refresh-token
		// subjects only with SignInTweaks.RefreshTokenSubject.
		return nil, invalidRequest("subject_token_type must be %s", tokenTypeIDToken)
	}
	if _, ok := form["actor_token"]; ok {
		// JAG-03 allows actor_token but leaves its processing undefined.
		return nil, invalidRequest("actor_token not supported")
	}
	if _, ok := form["actor_token_type"]; ok {
		return nil, invalidRequest("actor_token_type not supported")
	}
	var sub string
	var e *oauthError
	if form["subject_token_type"] == tokenTypeRefresh {
		sub, e = p.refreshSubject(c, form["subject_token"])
	} else {
		sub, e = p.verifyIDToken(form["subject_token"], c.ID)
	}
	if e != nil {
		return nil, e
	}
	aud, resource := form["audience"], form["resource"]
	if aud == "" {
		return nil, invalidRequest("audience missing")
	}
	known, governed := p.governs(aud, resource)
	switch {
	case !known:
		// Exact string match: a trailing-slash or token-endpoint variant of
		// a known issuer is unknown (docs/protocol.md §6 item 2).
		return nil, invalidTarget("audience is not a known authorization server")
	case resource == "":
		// JAG-ED "-05": the IdP MAY require resource; the testbed does, as
		// the conformance mock IdP does.
		return nil, invalidTarget("resource missing")
	case !governed:
		// EMA §7.6.1: (audience, resource) must be a registered pair.
		return nil, invalidTarget("resource is not governed by audience")
	}
	requested := scopeList(form["scope"])
	granted := slices.Clone(p.tb.opts.GrantableScopes)
	if len(requested) > 0 {
		granted = intersect(requested, p.tb.opts.GrantableScopes)
		if len(granted) == 0 {
			return nil, errf(http.StatusBadRequest, "invalid_scope", "none of the requested scopes is allowed")
		}
	}
	tw := p.getTweaks()
	lifetime := p.tb.opts.IDJAGLifetime
	if tw.IDJAGLifetime != 0 {
		lifetime = tw.IDJAGLifetime
	}
	jag, err := p.mintIDJAG(sub, aud, resource, granted, lifetime, jkt, tw)
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "server_error", "cannot sign ID-JAG")
	}
	p.tb.stats.add(func(c *Counters) { c.TokenExchanges++ })
	// RFC 8693 §2.2.1 and JAG §4.3.4.
	resp := map[string]any{
		"access_token":      jag,
		"issued_token_type": firstNonEmpty(tw.IssuedTokenType, tokenTypeIDJAG),
		"token_type":        firstNonEmpty(tw.TokenType, "N_A"),
	}
	if !tw.Minimal {
		resp["expires_in"] = int64(lifetime.Seconds())
		// RFC 8693 §2.2.1: scope is required when it differs from the request.
		if !sameSet(requested, granted) {
			resp["scope"] = joinScopes(granted)
		}
	}
	if tw.RefreshTokenInExchange {
		resp["refresh_token"] = randomID()
	}
	return resp, nil
}

// idTokenClaims are the OIDC Core §2 claims the IdP checks on a subject token.
type idTokenClaims struct {
	Iss string        `json:"iss"`
	Sub string        `json:"sub"`
	Aud stringOrArray `json:"aud"`
	Azp string        `json:"azp"`
	Exp *numericDate  `json:"exp"`
	Iat *numericDate  `json:"iat"`
	Nbf *numericDate  `json:"nbf"`
}

// verifyIDToken validates the subject token as the IdP's own ID token for
// the authenticated client (JAG §4.3.3: its audience MUST match the
// authenticated client_id). RFC 8693 §2.2.2 makes a bad subject_token
// invalid_request; clients must treat invalid_grant the same (docs/protocol.md
// §5.3 item 4), which a queued fault can simulate.
func (p *IdP) verifyIDToken(tok, clientID string) (string, *oauthError) {
	_, payload, err := verifyWith(tok, []jose.SignatureAlgorithm{jose.ES256}, "", p.publicKeys())
	if err != nil {
		return "", invalidRequest("subject_token: %v", err)
	}
	var cl idTokenClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return "", invalidRequest("subject_token claims: %v", err)
	}
	if cl.Iss != p.issuer {
		return "", invalidRequest("subject_token issuer is not this IdP")
	}
	if !slices.Contains(cl.Aud.vals, clientID) {
		return "", invalidRequest("subject_token audience is not the authenticated client")
	}
	// OIDC Core §3.1.3.7 items 4-5: with several audiences azp names the client.
	if len(cl.Aud.vals) > 1 && cl.Azp != clientID {
		return "", invalidRequest("subject_token azp is not the authenticated client")
	}
	if err := timeChecks(p.tb.Now(), p.tb.opts.ClockSkew, cl.Exp, cl.Iat, cl.Nbf); err != nil {
		return "", invalidRequest("subject_token: %v", err)
	}
	if cl.Sub == "" {
		return "", invalidRequest("subject_token sub missing")
	}
	return cl.Sub, nil
}

// mintIDJAG signs an ID-JAG (JAG §3.1, docs/protocol.md §3): typ
// oauth-id-jag+jwt, aud exactly as requested, client_id mapped to the
// client's registration at the AS.
func (p *IdP) mintIDJAG(sub, aud, resource string, scopes []string, lifetime time.Duration, jkt string, tw IdPTweaks) (string, error) {
	now := p.tb.Now()
	secs := int64(lifetime.Seconds())
	claims := map[string]any{
		"iss":       p.issuer,
		"sub":       sub,
		"aud":       firstNonEmpty(tw.IDJAGAudience, aud),
		"client_id": firstNonEmpty(tw.IDJAGClientID, p.tb.asClientID(aud)),
		"jti":       randomID(),
		"iat":       now.Unix(),
		"exp":       now.Unix() + secs,
		"resource":  firstNonEmpty(tw.IDJAGResource, resource),
	}
	if len(scopes) > 0 {
		claims["scope"] = joinScopes(scopes)
	}
	if cnf := idjagCnf(jkt, tw); cnf != nil {
		claims["cnf"] = cnf
	}
	typ := firstNonEmpty(tw.IDJAGTyp, typIDJAG)
	if tw.OmitIDJAGTyp {
		typ = ""
	}
	return sign(p.keys.current(), typ, claims)
}

func joinScopes(s []string) string { return strings.Join(s, " ") }

// sameSet reports whether a and b hold the same scopes, ignoring order.
func sameSet(a, b []string) bool {
	return len(intersect(a, b)) == len(a) && len(intersect(b, a)) == len(b)
}
