package testbed

import (
	"encoding/base64"
	"sync"
	"time"
)

// Endpoints of the enterprise sign-in at the IdP.
const (
	EndpointIdPAuthorize Endpoint = "idp.authorize"  // OIDC authorization endpoint
	EndpointIdPDevice    Endpoint = "idp.device"     // RFC 8628 device authorization
	EndpointIdPRevoke    Endpoint = "idp.revocation" // RFC 7009
)

const (
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	tokenTypeRefresh       = "urn:ietf:params:oauth:token-type:refresh_token"
)

// SignInTweaks shape the IdP's sign-in endpoints: what the authorization
// endpoint sends back, what device polls answer, and how refresh behaves.
// The zero value is a correct IdP that auto-approves the test user.
type SignInTweaks struct {
	// AuthorizeError redirects back with this error code (e.g.
	// access_denied) instead of a code.
	AuthorizeError string
	// WrongState redirects back with a state other than the one sent.
	WrongState bool
	// WrongIssuer redirects back with another iss (RFC 9207).
	WrongIssuer bool
	// Nonce, IDTokenAudience and IDTokenIssuer replace those claims of the
	// ID token a code or device grant returns.
	Nonce           string
	IDTokenAudience string
	IDTokenIssuer   string
	// IDTokenAlgNone returns an unsigned ID token (alg none).
	IDTokenAlgNone bool
	// IDTokenForeignKey signs the ID token with a key never published.
	IDTokenForeignKey bool
	// IDTokenExpired returns an ID token that expired a minute ago.
	IDTokenExpired bool
	// NoRefreshToken leaves refresh_token out of sign-in answers.
	NoRefreshToken bool
	// OfflineAccessNeedsConsent makes the IdP follow OIDC Core §11 to the
	// letter: offline_access is ignored (so no refresh token comes) unless
	// the authorization request had prompt=consent.
	OfflineAccessNeedsConsent bool

	// DeviceAnswers are the answers to the next device polls in order
	// (authorization_pending, slow_down, access_denied, expired_token);
	// once they are used up the poll is approved.
	DeviceAnswers []string
	// DeviceInterval is the interval the device authorization names;
	// zero means 5 s, negative means none (the client default applies).
	DeviceInterval time.Duration
	// DeviceCodeLifetime defaults to 10 minutes.
	DeviceCodeLifetime time.Duration
	// NoDeviceEndpoint and NoRevocationEndpoint leave those out of the
	// metadata.
	NoDeviceEndpoint     bool
	NoRevocationEndpoint bool

	// RefreshWithoutIDToken answers refresh grants without an id_token.
	RefreshWithoutIDToken bool
	// RefreshTokenSubject accepts refresh tokens as subject_token in the
	// token exchange and says so in the metadata
	// (subject_token_types_supported).
	RefreshTokenSubject bool
}

// SignInCounters count what the sign-in endpoints did.
type SignInCounters struct {
	// Authorizations counts codes issued by the authorization endpoint.
	Authorizations int
	// CodeGrants counts codes redeemed; DeviceGrants device codes.
	CodeGrants   int
	DeviceGrants int
	// DevicePolls counts device grant requests, answered or not.
	DevicePolls int
	// Revocations counts refresh tokens revoked (RFC 7009).
	Revocations int
	// RefreshReuses counts presentations of a rotated-out refresh token,
	// which revoke its family as real IdPs do.
	RefreshReuses int
	// RefreshSubjectExchanges counts exchanges with a refresh token subject.
	RefreshSubjectExchanges int
}

// signin is the IdP's sign-in state.
type signin struct {
	mu      sync.Mutex
	tweaks  SignInTweaks
	counts  SignInCounters
	codes   map[string]*authCode
	devices map[string]*deviceGrant
	// lastAuthorize is the query of the last authorization request.
	lastAuthorize map[string]string
}

func newSignin() *signin {
	return &signin{codes: map[string]*authCode{}, devices: map[string]*deviceGrant{}}
}

// SetSignInTweaks replaces the sign-in settings.
func (p *IdP) SetSignInTweaks(t SignInTweaks) {
	p.si.mu.Lock()
	defer p.si.mu.Unlock()
	p.si.tweaks = t
}

func (p *IdP) signInTweaks() SignInTweaks {
	p.si.mu.Lock()
	defer p.si.mu.Unlock()
	return p.si.tweaks
}

// SignInCounters returns a snapshot of the sign-in counters.
func (p *IdP) SignInCounters() SignInCounters {
	p.si.mu.Lock()
	defer p.si.mu.Unlock()
	return p.si.counts
}

func (p *IdP) count(f func(c *SignInCounters)) {
	p.si.mu.Lock()
	defer p.si.mu.Unlock()
	f(&p.si.counts)
}

// LastAuthorizeParams returns the parameters of the last authorization
// request (state, nonce, max_age, acr_values, ...).
func (p *IdP) LastAuthorizeParams() map[string]string {
	p.si.mu.Lock()
	defer p.si.mu.Unlock()
	return p.si.lastAuthorize
}

// AuthorizeURL returns the authorization endpoint; DeviceURL the device
// authorization endpoint; RevocationURL the revocation endpoint.
func (p *IdP) AuthorizeURL() string  { return p.issuer + "/authorize" }
func (p *IdP) DeviceURL() string     { return p.issuer + "/device_authorization" }
func (p *IdP) RevocationURL() string { return p.issuer + "/revoke" }

// HasRefreshToken reports whether rt is a live (issued, not rotated out,
// not revoked) refresh token.
func (p *IdP) HasRefreshToken(rt string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.refresh[rt]
	return ok && !g.used
}

// LiveRefreshTokens counts live refresh tokens.
func (p *IdP) LiveRefreshTokens() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.refresh {
		if !g.used {
			n++
		}
	}
	return n
}

// signinMetadata is what the discovery document says about sign-in.
func (p *IdP) signinMetadata() map[string]any {
	t := p.signInTweaks()
	m := map[string]any{
		"authorization_endpoint":           p.AuthorizeURL(),
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"scopes_supported":                 []string{"openid", "offline_access", "email", "profile"},
		// Initiating User Registration via OpenID Connect §4.
		"prompt_values_supported": []string{"none", "login", "consent", "select_account"},
		"grant_types_supported":   []string{grantTokenExchange, grantRefreshToken, grantAuthorizationCode, grantDeviceCode},
		// RFC 9207: the redirect carries iss.
		"authorization_response_iss_parameter_supported": true,
	}
	if !t.NoDeviceEndpoint {
		m["device_authorization_endpoint"] = p.DeviceURL()
	}
	if !t.NoRevocationEndpoint {
		m["revocation_endpoint"] = p.RevocationURL()
	}
	if t.RefreshTokenSubject {
		m["subject_token_types_supported"] = []string{tokenTypeIDToken, tokenTypeRefresh}
	}
	return m
}

// signInIDToken mints the ID token a sign-in returns, shaped by the tweaks.
func (p *IdP) signInIDToken(nonce string, extra map[string]any) (string, error) {
	t := p.signInTweaks()
	o := IDTokenOptions{Nonce: firstNonEmpty(t.Nonce, nonce), Audience: t.IDTokenAudience, Issuer: t.IDTokenIssuer,
		ForeignKey: t.IDTokenForeignKey, Extra: extra}
	if t.IDTokenExpired {
		o.IssuedAt = p.tb.Now().Add(-p.tb.opts.IDTokenLifetime - time.Minute)
	}
	tok, err := p.MintIDToken(o)
	if err != nil || !t.IDTokenAlgNone {
		return tok, err
	}
	// Keep the claims, drop the signature: {"alg":"none"}.
	parts := splitJWT(tok)
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	return hdr + "." + parts[1] + ".", nil
}

func splitJWT(tok string) [3]string {
	var out [3]string
	i := 0
	start := 0
	for j := 0; j < len(tok) && i < 2; j++ {
		if tok[j] == '.' {
			out[i] = tok[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = tok[start:]
	return out
}

// signInResponse is the token response of a code or device grant.
func (p *IdP) signInResponse(clientID, scope, nonce string, extra map[string]any) (map[string]any, *oauthError) {
	idt, err := p.signInIDToken(nonce, extra)
	if err != nil {
		return nil, errf(500, "server_error", "cannot sign ID token")
	}
	resp := map[string]any{
		"access_token": randomID(),
		"token_type":   "Bearer",
		"expires_in":   int64(p.tb.opts.IDTokenLifetime.Seconds()),
		"id_token":     idt,
		"scope":        scope,
	}
	if containsScope(scope, "offline_access") && !p.signInTweaks().NoRefreshToken {
		resp["refresh_token"] = p.issueRefreshTokenFor(clientID)
	}
	return resp, nil
}

func (p *IdP) issueRefreshTokenFor(clientID string) string {
	rt := randomID()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh[rt] = refreshGrant{clientID: clientID, subject: p.tb.opts.Subject, expires: p.tb.Now().Add(p.tb.opts.RefreshTokenLifetime)}
	return rt
}

func containsScope(scope, want string) bool {
	for _, s := range scopeList(scope) {
		if s == want {
			return true
		}
	}
	return false
}

// refreshSubject validates a refresh token presented as subject_token, as
// a refresh_token grant would (JAG-ED §4.3.3), without rotating it.
func (p *IdP) refreshSubject(c Client, rt string) (string, *oauthError) {
	if !p.signInTweaks().RefreshTokenSubject {
		return "", invalidRequest("subject_token_type must be %s", tokenTypeIDToken)
	}
	p.mu.Lock()
	g, ok := p.refresh[rt]
	p.mu.Unlock()
	if !ok || g.used || g.clientID != c.ID || !p.tb.Now().Before(g.expires) {
		return "", invalidGrant("subject refresh token is not valid")
	}
	p.count(func(s *SignInCounters) { s.RefreshSubjectExchanges++ })
	return g.subject, nil
}
