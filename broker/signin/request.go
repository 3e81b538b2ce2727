package signin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// Scopes are openid and offline_access (OIDC Core §11: a refresh token),
// then the configured ones and the caller's, once each, in that order.
// Entries holding several space-separated scopes are split.
func Scopes(configured, extra []string) []string {
	out := []string{"openid", "offline_access"}
	for _, s := range slices.Concat(configured, extra) {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// authRequest is one authorization request's secrets and step-up.
type authRequest struct {
	redirectURI, state, nonce, verifier string
	maxAge, acr, prompt                 string
}

// newAuthRequest draws fresh state, nonce and PKCE verifier: 32 random
// bytes each, so none can be guessed (RFC 6749 §10.10, RFC 7636 §7.1).
func newAuthRequest(redirectURI, maxAge, acr string) authRequest {
	return authRequest{
		redirectURI: redirectURI,
		state:       randomString(32), nonce: randomString(32), verifier: randomString(32),
		maxAge: maxAge, acr: acr,
	}
}

// url builds the authorization request URL (OIDC Core §3.1.2.1, RFC 7636
// §4.3), keeping any query the endpoint already has.
func (r authRequest) url(endpoint, clientID string, scopes []string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", clientID)
	q.Set("redirect_uri", r.redirectURI)
	q.Set("scope", strings.Join(scopes, " "))
	q.Set("state", r.state)
	q.Set("nonce", r.nonce)
	q.Set("code_challenge", pkceChallenge(r.verifier))
	q.Set("code_challenge_method", "S256")
	if r.maxAge != "" {
		q.Set("max_age", r.maxAge)
	}
	if r.acr != "" {
		q.Set("acr_values", r.acr)
	}
	if r.prompt != "" {
		q.Set("prompt", r.prompt)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// randomString returns n random bytes, base64url without padding: 32 bytes
// give the 43 characters RFC 7636 §4.1 asks of a verifier.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkceChallenge is the S256 code_challenge of verifier (RFC 7636 §4.2).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
