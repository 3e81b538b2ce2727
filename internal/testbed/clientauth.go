package testbed

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// clientAuth authenticates clients at one token endpoint (RFC 6749 §2.3).
type clientAuth struct {
	tb      *Testbed
	clients map[string]Client
	// audiences are the aud values a private_key_jwt assertion may carry:
	// the server's issuer and its token endpoint URL (RFC 7523 §3 item 3).
	audiences []string
	replay    *replayStore
}

// assertionClaims are the RFC 7523 §3 claims of a client assertion.
type assertionClaims struct {
	Iss string        `json:"iss"`
	Sub string        `json:"sub"`
	Aud stringOrArray `json:"aud"`
	Jti string        `json:"jti"`
	Exp *numericDate  `json:"exp"`
	Iat *numericDate  `json:"iat"`
	Nbf *numericDate  `json:"nbf"`
}

// authenticate returns the authenticated client or an invalid_client error
// (401, with a Basic challenge when the Authorization header was used).
func (ca *clientAuth) authenticate(r *http.Request, form map[string]string) (Client, *oauthError) {
	authz := r.Header.Get("Authorization")
	_, hasSecret := form["client_secret"]
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	used := 0
	for _, b := range []bool{authz != "", hasSecret, hasAssertion || hasAssertionType} {
		if b {
			used++
		}
	}
	if used > 1 {
		// RFC 6749 §2.3: a client MUST NOT use more than one method.
		return Client{}, invalidRequest("more than one client authentication method")
	}
	basic := authz != ""
	var id string
	var method ClientAuthMethod
	switch {
	case basic:
		var e *oauthError
		if id, _, e = parseBasic(authz); e != nil {
			return Client{}, e
		}
		method = AuthClientSecretBasic
		if bodyID, ok := form["client_id"]; ok && bodyID != id {
			return Client{}, invalidClient(true, "client_id in body differs from Authorization header")
		}
	case hasSecret:
		id, method = form["client_id"], AuthClientSecretPost
	case hasAssertion || hasAssertionType:
		var e *oauthError
		if id, e = ca.assertionID(form); e != nil {
			return Client{}, e
		}
		method = AuthPrivateKeyJWT
	default:
		id, method = form["client_id"], AuthNone
	}
	if id == "" {
		return Client{}, invalidClient(basic, "client authentication required")
	}
	c, ok := ca.clients[id]
	if !ok {
		return Client{}, invalidClient(basic, "unknown client")
	}
	if c.Auth != method {
		return Client{}, invalidClient(basic, "client must authenticate with %s, used %s", c.Auth, method)
	}
	if e := ca.verify(r, c, form); e != nil {
		return Client{}, e
	}
	setClient(r.Context(), c.ID, method)
	return c, nil
}

// parseBasic reads HTTP Basic client credentials. RFC 6749 §2.3.1: id and
// secret are form-urlencoded before base64, so they are unescaped after.
func parseBasic(authz string) (id, secret string, e *oauthError) {
	scheme, cred, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", invalidClient(true, "Authorization must be Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", invalidClient(true, "malformed Basic credentials")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidClient(true, "malformed Basic credentials")
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(rawID)
	secret, err2 = url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return "", "", invalidClient(true, "Basic credentials not form-urlencoded")
	}
	return id, secret, nil
}

// assertionID reads the (not yet verified) client id of a private_key_jwt
// assertion; verify checks the signature and claims afterwards.
func (ca *clientAuth) assertionID(form map[string]string) (string, *oauthError) {
	if form["client_assertion_type"] != clientAssertionType {
		return "", invalidClient(false, "client_assertion_type must be %s", clientAssertionType)
	}
	jws, err := jose.ParseSignedCompact(form["client_assertion"], []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return "", invalidClient(false, "malformed client_assertion")
	}
	var c assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return "", invalidClient(false, "malformed client_assertion claims")
	}
	// RFC 7523 §3 items 1-2 with §2.2: iss and sub are both the client_id.
	if c.Iss == "" || c.Iss != c.Sub {
		return "", invalidClient(false, "client_assertion iss and sub must both be the client_id")
	}
	if bodyID, ok := form["client_id"]; ok && bodyID != c.Iss {
		return "", invalidClient(false, "client_id differs from client_assertion iss")
	}
	return c.Iss, nil
}

func (ca *clientAuth) verify(r *http.Request, c Client, form map[string]string) *oauthError {
	switch c.Auth {
	case AuthClientSecretBasic:
		_, secret, e := parseBasic(r.Header.Get("Authorization"))
		if e != nil {
			return e
		}
		if !secretEqual(secret, c.Secret) {
			return invalidClient(true, "bad client credentials")
		}
	case AuthClientSecretPost:
		if !secretEqual(form["client_secret"], c.Secret) {
			return invalidClient(false, "bad client credentials")
		}
	case AuthPrivateKeyJWT:
		return ca.verifyAssertion(c, form["client_assertion"])
	case AuthNone:
		// A public client proves nothing; only its id is checked.
	}
	return nil
}

func secretEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (ca *clientAuth) verifyAssertion(c Client, assertion string) *oauthError {
	var alg jose.SignatureAlgorithm
	switch c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		alg = jose.ES256
	case *rsa.PublicKey:
		alg = jose.RS256
	default:
		return invalidClient(false, "client has no usable public key")
	}
	keys := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: c.PublicKey, Algorithm: string(alg)}}}
	_, payload, err := verifyWith(assertion, []jose.SignatureAlgorithm{alg}, "", keys)
	if err != nil {
		return invalidClient(false, "client_assertion: %v", err)
	}
	var cl assertionClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return invalidClient(false, "client_assertion claims: %v", err)
	}
	if cl.Iss != c.ID || cl.Sub != c.ID {
		return invalidClient(false, "client_assertion iss and sub must be the client_id")
	}
	if !slices.ContainsFunc(cl.Aud.vals, func(a string) bool { return slices.Contains(ca.audiences, a) }) {
		return invalidClient(false, "client_assertion aud must name this server")
	}
	now, skew := ca.tb.Now(), ca.tb.opts.ClockSkew
	// RFC 7523 §3 items 4-5: exp required, nbf honoured; iat optional here.
	if cl.Exp == nil || !now.Before(cl.Exp.Add(skew)) {
		return invalidClient(false, "client_assertion expired or without exp")
	}
	if cl.Nbf != nil && cl.Nbf.After(now.Add(skew)) {
		return invalidClient(false, "client_assertion not yet valid")
	}
	if cl.Jti == "" {
		return invalidClient(false, "client_assertion jti missing")
	}
	// RFC 7523 §3 item 7: the server may reject a replayed jti.
	if !ca.replay.use(c.ID+"\x00"+cl.Jti, cl.Exp.Add(skew), now) {
		return invalidClient(false, "client_assertion jti replayed")
	}
	return nil
}
