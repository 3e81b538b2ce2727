package grant

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Grant types of the enterprise sign-in (RFC 6749 §4.1.3 and §6, RFC 8628 §3.4).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// OIDCTokens is what the IdP token endpoint returns to a sign-in or refresh
// grant. The ID token is not verified here; the caller verifies it. Every
// member is a secret except Scopes and ReceivedAt.
type OIDCTokens struct {
	IDToken string
	// RefreshToken is empty when the IdP issued none or, on a refresh,
	// did not rotate it (RFC 6749 §6: the client keeps the old one then).
	RefreshToken string
	Scopes       []string
	ReceivedAt   time.Time
}

// AuthorizationCode redeems an authorization code with its PKCE verifier
// (RFC 6749 §4.1.3, RFC 7636 §4.5). An OpenID Connect answer must carry an
// id_token (OIDC Core §3.1.3.3).
func AuthorizationCode(ctx context.Context, ep *Endpoint, code, redirectURI, verifier string) (*OIDCTokens, error) {
	form := url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
	return oidcGrant(ctx, ep, "authorization code grant", form, true)
}

// Refresh uses an IdP refresh token (RFC 6749 §6). The answer may lack an
// id_token (OIDC Core §12.2 makes it optional) and a refresh_token.
func Refresh(ctx context.Context, ep *Endpoint, refreshToken string) (*OIDCTokens, error) {
	form := url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {refreshToken}}
	return oidcGrant(ctx, ep, "refresh token grant", form, false)
}

// DeviceToken polls for the result of a device authorization (RFC 8628
// §3.4). Pending, slow_down, access_denied and expired_token come back as
// an [*OAuthError] with that code.
func DeviceToken(ctx context.Context, ep *Endpoint, deviceCode string) (*OIDCTokens, error) {
	form := url.Values{"grant_type": {GrantDeviceCode}, "device_code": {deviceCode}}
	return oidcGrant(ctx, ep, "device code grant", form, true)
}

func oidcGrant(ctx context.Context, ep *Endpoint, what string, form url.Values, needIDToken bool) (*OIDCTokens, error) {
	tr, received, err := ep.post(ctx, what, form)
	if err != nil {
		return nil, err
	}
	if needIDToken && tr.IDToken == "" {
		return nil, fmt.Errorf("%s at %s: %w: id_token is missing (is openid in the scopes?)", what, ep.URL, ErrMalformed)
	}
	return &OIDCTokens{IDToken: tr.IDToken, RefreshToken: tr.RefreshToken, Scopes: splitScope(tr.Scope), ReceivedAt: received}, nil
}
