package testbed

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// authorization reads the Authorization header: the Bearer scheme (RFC
// 6750 §2.1) and, when DPoP is on, the DPoP scheme (RFC 9449 §7.1). The
// scheme comes back lowercased (RFC 9110 §11.1: case-insensitive).
func (m *MCPServer) authorization(r *http.Request) (scheme, tok string, ok bool) {
	scheme, tok, ok = strings.Cut(r.Header.Get("Authorization"), " ")
	scheme = strings.ToLower(scheme)
	if !ok || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", "", false
	}
	if scheme == "bearer" || (scheme == "dpop" && m.tb.dpop != nil) {
		return scheme, tok, true
	}
	return "", "", false
}

// dpopGate applies RFC 9449 §7 to a request whose token verified: a
// DPoP-bound token only with the DPoP scheme and a valid proof of its key
// (§7.2: never as a bearer token), an unbound one only as Bearer. It
// answers the request itself when it refuses it. The request it passes on
// says Bearer, which is all the go-sdk's token middleware reads.
func (m *MCPServer) dpopGate(w http.ResponseWriter, r *http.Request, scheme, tok string, ti *auth.TokenInfo) (*http.Request, bool) {
	s := m.tb.dpop.server(EndpointMCP)
	if s == nil {
		return r, true
	}
	bound, _ := ti.Extra["jkt"].(string)
	if scheme == "bearer" {
		switch {
		case bound != "":
			m.challenge(w, http.StatusUnauthorized, "invalid_token", "the access token is DPoP-bound: send it with the DPoP scheme and a proof", nil)
			return nil, false
		case s.opts.RequireProof:
			m.challenge(w, http.StatusUnauthorized, "invalid_token", "this resource accepts only DPoP-bound access tokens", nil)
			return nil, false
		}
		return r, true
	}
	if bound == "" {
		m.challenge(w, http.StatusUnauthorized, "invalid_token", "the access token is not DPoP-bound: send it as a Bearer token", nil)
		return nil, false
	}
	_, err := s.verify(r, proofRequest{method: r.Method, target: m.URL(), accessToken: tok, jkt: bound})
	s.setNonceHeader(w)
	if err != nil {
		m.dpopChallenge(w, err)
		return nil, false
	}
	inner := r.Clone(r.Context())
	inner.Header.Set("Authorization", "Bearer "+tok)
	return inner, true
}

// dpopChallenge answers 401 with a DPoP challenge carrying the error:
// use_dpop_nonce (RFC 9449 §9) or invalid_dpop_proof (§7.1).
func (m *MCPServer) dpopChallenge(w http.ResponseWriter, err *proofError) {
	code := "invalid_dpop_proof"
	if err.rule == RuleNonce {
		code = "use_dpop_nonce"
	}
	hints := m.hintParams(nil)
	if !m.tb.dpop.opts.RequireProof {
		w.Header().Add("WWW-Authenticate", "Bearer "+strings.Join(hints, ", "))
	}
	params := append([]string{m.dpopAlgs(), fmt.Sprintf("error=%q", code), fmt.Sprintf("error_description=%q", err.Error())}, hints...)
	w.Header().Add("WWW-Authenticate", "DPoP "+strings.Join(params, ", "))
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// setChallenges writes the WWW-Authenticate challenges: Bearer alone when
// DPoP is off; with DPoP on, a DPoP challenge naming its algorithms (RFC
// 9449 §7.1) after the Bearer one, which RequireProof leaves out.
func (m *MCPServer) setChallenges(w http.ResponseWriter, params []string) {
	bearer := "Bearer " + strings.Join(params, ", ")
	if m.tb.dpop == nil {
		w.Header().Set("WWW-Authenticate", bearer)
		return
	}
	w.Header().Del("WWW-Authenticate")
	if !m.tb.dpop.opts.RequireProof {
		w.Header().Add("WWW-Authenticate", bearer)
	}
	w.Header().Add("WWW-Authenticate", "DPoP "+strings.Join(append([]string{m.dpopAlgs()}, params...), ", "))
}

func (m *MCPServer) dpopAlgs() string {
	return fmt.Sprintf("algs=%q", strings.Join(m.tb.dpop.opts.Algorithms, " "))
}
