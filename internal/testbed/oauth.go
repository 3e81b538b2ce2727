package testbed

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Fixed protocol strings (docs/protocol.md §1).
const (
	grantTokenExchange  = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantJWTBearer      = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken   = "refresh_token"
	tokenTypeIDJAG      = "urn:ietf:params:oauth:token-type:id-jag"
	tokenTypeIDToken    = "urn:ietf:params:oauth:token-type:id_token"
	typIDJAG            = "oauth-id-jag+jwt"
	typAccessToken      = "at+jwt" // RFC 9068 §2.1
	profileIDJAG        = "urn:ietf:params:oauth:grant-profile:id-jag"
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status int
	code   string
	desc   string
	// basicChallenge adds WWW-Authenticate: Basic, as RFC 6749 §5.2
	// requires for invalid_client when the client used the Authorization
	// header.
	basicChallenge bool
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func errf(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *oauthError {
	return errf(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidGrant(format string, args ...any) *oauthError {
	return errf(http.StatusBadRequest, "invalid_grant", format, args...)
}

func invalidTarget(format string, args ...any) *oauthError {
	return errf(http.StatusBadRequest, "invalid_target", format, args...)
}

func invalidClient(basic bool, format string, args ...any) *oauthError {
	e := errf(http.StatusUnauthorized, "invalid_client", format, args...)
	e.basicChallenge = basic
	return e
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basicChallenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="token", error="invalid_client"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// tokenForm reads a token request strictly: POST only, urlencoded body
// (RFC 6749 §3.2), nothing in the query string (credentials never go in
// URLs, EMA §7.3), and no parameter more than once (RFC 6749 §3.2). The
// MCP profile binds one audience and one resource, so repeated audience or
// resource (allowed in general by RFC 8693 §2.1 and RFC 8707 §2) are also
// refused here.
func tokenForm(w http.ResponseWriter, r *http.Request) (map[string]string, *oauthError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, errf(http.StatusMethodNotAllowed, "invalid_request", "token endpoint takes POST")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("content type must be application/x-www-form-urlencoded")
	}
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("parameters in the query string are not accepted")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return nil, invalidRequest("read body")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("malformed body")
	}
	form := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, invalidRequest("parameter %s repeated", k)
		}
		if v[0] == "" {
			// RFC 6749 §3.1: parameters sent without a value are treated as
			// omitted.
			continue
		}
		form[k] = v[0]
	}
	return form, nil
}

// scopeList splits an RFC 6749 §3.3 scope string.
func scopeList(s string) []string { return strings.Fields(s) }

// intersect returns the members of a that are in b, in a's order, once each.
func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
			in[s] = false
		}
	}
	return out
}
