package testbed

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authCode is an issued authorization code (RFC 6749 §4.1.2).
type authCode struct {
	clientID, redirectURI, challenge, nonce, scope string
	authTime                                       time.Time
	acr                                            string
	expires                                        time.Time
	used                                           bool
}

// codeLifetime: RFC 6749 §4.1.2 recommends at most 10 minutes.
const codeLifetime = time.Minute

// serveAuthorize is the authorization endpoint. It checks the request as a
// strict IdP would (OIDC Core §3.1.2.2, RFC 7636 §4.4, RFC 8252 §7.3) and
// auto-approves the configured test user: it answers with a redirect to
// the client's loopback redirect URI carrying code, state and iss.
// Requests it cannot redirect (bad client or redirect URI) get a 400 page,
// never a redirect (RFC 6749 §4.1.2.1).
func (p *IdP) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	params := map[string]string{}
	for k, v := range q {
		if len(v) != 1 {
			http.Error(w, "parameter "+k+" repeated", http.StatusBadRequest)
			return
		}
		params[k] = v[0]
	}
	p.si.mu.Lock()
	p.si.lastAuthorize = params
	p.si.mu.Unlock()
	if params["client_id"] != p.tb.opts.IdPClient.ID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect, ok := loopbackRedirect(params["redirect_uri"])
	if !ok {
		http.Error(w, "redirect_uri must be http://127.0.0.1:PORT/... (RFC 8252 §7.3)", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", params["state"])
		v.Set("iss", p.issuer)
		t := p.signInTweaks()
		if t.WrongState {
			v.Set("state", "not-"+params["state"])
		}
		if t.WrongIssuer {
			v.Set("iss", "https://evil.example")
		}
		u := *redirect
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) { back(url.Values{"error": {code}, "error_description": {desc}}) }
	switch {
	case params["response_type"] != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case !containsScope(params["scope"], "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case params["state"] == "":
		fail("invalid_request", "state is required by this IdP")
		return
	case params["nonce"] == "":
		fail("invalid_request", "nonce is required by this IdP")
		return
	case params["code_challenge_method"] != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case len(params["code_challenge"]) != 43:
		fail("invalid_request", "code_challenge must be a base64url SHA-256")
		return
	}
	if e := p.signInTweaks().AuthorizeError; e != "" {
		fail(e, "the test IdP was told to refuse")
		return
	}
	now := p.tb.Now()
	code := &authCode{
		clientID: params["client_id"], redirectURI: params["redirect_uri"], challenge: params["code_challenge"],
		nonce: params["nonce"], scope: p.signInScope(params), authTime: now, acr: params["acr_values"], expires: now.Add(codeLifetime),
	}
	id := randomID()
	p.si.mu.Lock()
	p.si.codes[id] = code
	p.si.counts.Authorizations++
	p.si.mu.Unlock()
	back(url.Values{"code": {id}})
}

// loopbackRedirect accepts only RFC 8252 §7.3 loopback redirect URIs: http,
// a loopback IP literal, any port.
func loopbackRedirect(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.User != nil || u.Fragment != "" {
		return nil, false
	}
	ip := net.ParseIP(u.Hostname())
	return u, ip != nil && ip.IsLoopback()
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3) with PKCE
// (RFC 7636 §4.6). A code is single use; a second use is refused.
func (p *IdP) codeGrant(c Client, form map[string]string) (map[string]any, *oauthError) {
	id, verifier := form["code"], form["code_verifier"]
	if id == "" || verifier == "" || form["redirect_uri"] == "" {
		return nil, invalidRequest("code, code_verifier and redirect_uri are required")
	}
	p.si.mu.Lock()
	code, ok := p.si.codes[id]
	var used bool
	if ok {
		used = code.used
		code.used = true
	}
	p.si.mu.Unlock()
	switch {
	case !ok || code.clientID != c.ID:
		return nil, invalidGrant("unknown authorization code")
	case used:
		return nil, invalidGrant("authorization code already used")
	case !p.tb.Now().Before(code.expires):
		return nil, invalidGrant("authorization code expired")
	case form["redirect_uri"] != code.redirectURI:
		return nil, invalidGrant("redirect_uri differs from the authorization request")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.challenge)) != 1 {
		return nil, invalidGrant("PKCE verification failed")
	}
	extra := map[string]any{"auth_time": code.authTime.Unix()}
	if code.acr != "" {
		extra["acr"] = strings.Fields(code.acr)[0]
	}
	resp, e := p.signInResponse(c.ID, code.scope, code.nonce, extra)
	if e == nil {
		p.count(func(s *SignInCounters) { s.CodeGrants++ })
	}
	return resp, e
}

// signInScope is the scope an authorization request is granted. OIDC Core
// §11: "When offline access is requested, a prompt parameter value of
// consent MUST be used unless other conditions for processing the request
// permitting offline access to the requested resources are in place." With
// OfflineAccessNeedsConsent the testbed is an OP with no such other
// conditions: without prompt=consent it drops offline_access, and the
// sign-in gets no refresh token.
func (p *IdP) signInScope(params map[string]string) string {
	scope := params["scope"]
	if !p.signInTweaks().OfflineAccessNeedsConsent || slices.Contains(strings.Fields(params["prompt"]), "consent") {
		return scope
	}
	var kept []string
	for _, s := range strings.Fields(scope) {
		if s != "offline_access" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, " ")
}
