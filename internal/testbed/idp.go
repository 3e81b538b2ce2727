package testbed

import (
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// IdP is the enterprise identity provider: OIDC discovery, a JWKS with key
// rotation, and a token endpoint for RFC 8693 token exchange (ID token to
// ID-JAG) and rotating refresh tokens. Its issuer has no path.
type IdP struct {
	tb      *Testbed
	issuer  string
	keys    *keySet
	foreign *keySet // never published: signs tokens that must not verify
	auth    *clientAuth

	mu        sync.Mutex
	audiences map[string][]string // AS issuer -> resources it governs
	refresh   map[string]refreshGrant
	tweaks    IdPTweaks
	si        *signin // authorization, device and revocation endpoints (signin.go)
}

// IdPTweaks make the IdP misbehave so clients' defences can be tested
// (docs/protocol.md §6 items 7, 8). The zero value is correct behaviour.
type IdPTweaks struct {
	// IDJAGTyp replaces the ID-JAG typ header; OmitIDJAGTyp drops it.
	IDJAGTyp     string
	OmitIDJAGTyp bool
	// IDJAGAudience replaces the ID-JAG aud claim.
	IDJAGAudience string
	// IDJAGResource replaces the ID-JAG resource claim.
	IDJAGResource string
	// IDJAGClientID replaces the ID-JAG client_id claim.
	IDJAGClientID string
	// IDJAGLifetime replaces Options.IDJAGLifetime, for short lifetimes.
	IDJAGLifetime time.Duration
	// IssuedTokenType and TokenType replace those response members.
	IssuedTokenType string
	TokenType       string
	// Minimal answers only access_token, issued_token_type and token_type,
	// as the conformance suite's mock IdP does.
	Minimal bool
	// RefreshTokenInExchange adds an (unusable) refresh_token to the
	// exchange response, which the profile says SHOULD NOT happen.
	RefreshTokenInExchange bool
	// IDJAGOmitCnf leaves cnf out of the ID-JAG despite a valid DPoP proof
	// (a downgrade); IDJAGCnfJKT puts this jkt in it instead of the
	// proof's (a mix-up). JAG §7.4.1.1: clients should detect both.
	IDJAGOmitCnf bool
	IDJAGCnfJKT  string
}

func newIdP(tb *Testbed, base string) (*IdP, error) {
	keys, err := newKeySet("idp")
	if err != nil {
		return nil, err
	}
	foreign, err := newKeySet("idp") // same kid prefix: looks legitimate
	if err != nil {
		return nil, err
	}
	p := &IdP{
		tb: tb, issuer: base, keys: keys, foreign: foreign,
		audiences: map[string][]string{},
		refresh:   map[string]refreshGrant{},
		si:        newSignin(),
	}
	p.auth = &clientAuth{
		tb:        tb,
		clients:   map[string]Client{tb.opts.IdPClient.ID: tb.opts.IdPClient},
		audiences: []string{p.issuer, p.TokenEndpoint()},
		replay:    newReplayStore(),
	}
	return p, nil
}

func (p *IdP) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/.well-known/openid-configuration", p.tb.endpoint(EndpointIdPMetadata, http.HandlerFunc(p.serveMetadata)))
	mux.Handle("/jwks", p.tb.endpoint(EndpointIdPJWKS, http.HandlerFunc(p.keys.serveJWKS)))
	mux.Handle("/token", p.tb.endpoint(EndpointIdPToken, http.HandlerFunc(p.serveToken)))
	mux.Handle("/authorize", p.tb.endpoint(EndpointIdPAuthorize, http.HandlerFunc(p.serveAuthorize)))
	mux.Handle("/device_authorization", p.tb.endpoint(EndpointIdPDevice, http.HandlerFunc(p.serveDevice)))
	mux.Handle("/revoke", p.tb.endpoint(EndpointIdPRevoke, http.HandlerFunc(p.serveRevoke)))
	return mux
}

// Issuer returns the IdP issuer, e.g. "http://127.0.0.1:41234".
func (p *IdP) Issuer() string { return p.issuer }

// TokenEndpoint returns the token endpoint URL.
func (p *IdP) TokenEndpoint() string { return p.issuer + "/token" }

// JWKSURL returns the jwks_uri.
func (p *IdP) JWKSURL() string { return p.issuer + "/jwks" }

// MetadataURL returns the OIDC discovery URL.
func (p *IdP) MetadataURL() string { return p.issuer + "/.well-known/openid-configuration" }

// RotateKey makes a new key the signing key and returns its kid. With
// keepOld the previous keys stay in the JWKS (a normal rotation); without,
// they are withdrawn and tokens they signed stop verifying.
func (p *IdP) RotateKey(keepOld bool) (string, error) { return p.keys.rotate(keepOld) }

// SetTweaks replaces the IdP's misbehaviour settings.
func (p *IdP) SetTweaks(t IdPTweaks) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tweaks = t
}

func (p *IdP) getTweaks() IdPTweaks {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tweaks
}

func (p *IdP) addAudience(aud string, resources ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audiences[aud] = append(p.audiences[aud], resources...)
}

func (p *IdP) governs(aud, resource string) (known, governed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	res, known := p.audiences[aud]
	for _, r := range res {
		if r == resource {
			return true, true
		}
	}
	return known, false
}

func (p *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := map[string]any{
		"issuer":                p.issuer,
		"token_endpoint":        p.TokenEndpoint(),
		"jwks_uri":              p.JWKSURL(),
		"grant_types_supported": []string{grantTokenExchange, grantRefreshToken},
		// draft-ietf-oauth-identity-chaining: how an IdP says it mints ID-JAGs.
		"identity_chaining_requested_token_types_supported": []string{tokenTypeIDJAG},
		"token_endpoint_auth_methods_supported":             allAuthMethods,
		"token_endpoint_auth_signing_alg_values_supported":  []string{"ES256", "RS256"},
		"id_token_signing_alg_values_supported":             []string{"ES256"},
		"subject_types_supported":                           []string{"public"},
	}
	p.tb.dpopMetadata(doc)
	for k, v := range p.signinMetadata() {
		doc[k] = v
	}
	writeJSON(w, http.StatusOK, doc)
}

var allAuthMethods = []ClientAuthMethod{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone}

// IDTokenOptions shapes an ID token from [IdP.MintIDToken]. The zero value
// is a valid ID token for the test user and the IdP client.
type IDTokenOptions struct {
	// Subject defaults to Options.Subject.
	Subject string
	// Audience defaults to the IdP client id.
	Audience string
	// Issuer defaults to the IdP issuer.
	Issuer string
	// Nonce is included when non-empty.
	Nonce string
	// IssuedAt defaults to now; Lifetime to Options.IDTokenLifetime. An
	// IssuedAt far enough in the past makes an expired token.
	IssuedAt time.Time
	Lifetime time.Duration
	// ForeignKey signs with a key the IdP never publishes (same kid style).
	ForeignKey bool
	// Extra claims are added last and may override any claim; a nil value
	// deletes the claim.
	Extra map[string]any
}

// MintIDToken returns an ID token as if the user had signed in (OIDC Core
// §2): iss, sub, aud = IdP client id, iat, exp, email, optional nonce.
func (p *IdP) MintIDToken(o IDTokenOptions) (string, error) {
	opts := p.tb.opts
	now := p.tb.Now()
	if o.IssuedAt.IsZero() {
		o.IssuedAt = now
	}
	if o.Lifetime == 0 {
		o.Lifetime = opts.IDTokenLifetime
	}
	claims := map[string]any{
		"iss":   firstNonEmpty(o.Issuer, p.issuer),
		"sub":   firstNonEmpty(o.Subject, opts.Subject),
		"aud":   firstNonEmpty(o.Audience, opts.IdPClient.ID),
		"iat":   o.IssuedAt.Unix(),
		"exp":   o.IssuedAt.Add(o.Lifetime).Unix(),
		"email": opts.Email,
	}
	if o.Nonce != "" {
		claims["nonce"] = o.Nonce
	}
	applyExtra(claims, o.Extra)
	key := p.keys.current()
	if o.ForeignKey {
		key = p.foreign.current()
	}
	return sign(key, "JWT", claims)
}

// SignJWT signs arbitrary claims with the IdP's current key and the given
// typ header (none when empty), to build hostile ID-JAGs for AS tests.
func (p *IdP) SignJWT(typ string, claims map[string]any) (string, error) {
	return sign(p.keys.current(), typ, claims)
}

// IDJAGClaims returns the claims the IdP would put in an ID-JAG for the test
// user and the default AS, resource and scopes, issued now; tests edit and
// sign them with [IdP.SignJWT].
func (p *IdP) IDJAGClaims() map[string]any {
	tb := p.tb
	now := tb.Now()
	return map[string]any{
		"iss":       p.issuer,
		"sub":       tb.opts.Subject,
		"aud":       tb.AS.Issuer(),
		"client_id": tb.opts.ASClient.ID,
		"jti":       randomID(),
		"iat":       now.Unix(),
		"exp":       now.Add(tb.opts.IDJAGLifetime).Unix(),
		"resource":  tb.MCP.URL(),
		"scope":     joinScopes(tb.opts.Scopes),
	}
}

func applyExtra(claims, extra map[string]any) {
	for k, v := range extra {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (p *IdP) publicKeys() jose.JSONWebKeySet { return p.keys.public() }
