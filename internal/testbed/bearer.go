package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/auth"
)

var errNoToken = errors.New("no verified access token")

type tokenInfoKey struct{}

// accessTokenClaims are the RFC 9068 §2.2 claims the MCP server checks.
type accessTokenClaims struct {
	Iss      string        `json:"iss"`
	Sub      string        `json:"sub"`
	Aud      stringOrArray `json:"aud"`
	ClientID string        `json:"client_id"`
	Scope    string        `json:"scope"`
	Exp      *numericDate  `json:"exp"`
	Iat      *numericDate  `json:"iat"`
	Nbf      *numericDate  `json:"nbf"`
	// Cnf binds the token to a DPoP key (RFC 9449 §6.1).
	Cnf json.RawMessage `json:"cnf"`
}

// requireToken admits only requests with a valid access token from our AS
// for this resource (MCP-AZ; RFC 6750 §3; RFC 9728 §5.1).
func (m *MCPServer) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("access_token") {
			// MCP-AZ: tokens never in the query string (RFC 6750 §2.3 is not
			// supported).
			m.challenge(w, http.StatusBadRequest, "invalid_request", "access token in query string", nil)
			return
		}
		scheme, tok, ok := m.authorization(r)
		if !ok {
			// RFC 6750 §3.1: no error code when no credentials were sent.
			m.challenge(w, http.StatusUnauthorized, "", "", nil)
			return
		}
		ti, err := m.verify(tok)
		if err != nil {
			m.challenge(w, http.StatusUnauthorized, "invalid_token", "the access token is not valid for this resource", nil)
			return
		}
		if r, ok = m.dpopGate(w, r, scheme, tok, ti); !ok {
			return
		}
		required := m.tb.opts.RequiredScopes
		if len(intersect(required, ti.Scopes)) != len(required) {
			m.challenge(w, http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope", required)
			return
		}
		m.tb.stats.add(func(c *Counters) { c.MCPCalls++ })
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenInfoKey{}, ti)))
	})
}

// challenge writes an RFC 6750 §3 / RFC 9728 §5.1 error. scope is the
// scopes needed: the required ones for 403, all supported ones for 401
// (MCP-AZ: clients request what the challenge names).
func (m *MCPServer) challenge(w http.ResponseWriter, status int, code, desc string, scope []string) {
	params := []string{}
	if code != "" {
		params = append(params, fmt.Sprintf("error=%q", code), fmt.Sprintf("error_description=%q", desc))
	}
	m.setChallenges(w, append(params, m.hintParams(scope)...))
	http.Error(w, http.StatusText(status), status)
}

// hintParams are the RFC 9728 §5.1 resource_metadata and the scope hint.
func (m *MCPServer) hintParams(scope []string) []string {
	var params []string
	if !m.tb.opts.ChallengeWithoutResourceMetadata {
		params = append(params, fmt.Sprintf("resource_metadata=%q", m.PRMURL()))
	}
	if scope == nil {
		scope = m.tb.opts.Scopes
	}
	return append(params, fmt.Sprintf("scope=%q", joinScopes(scope)))
}

// verify accepts only an at+jwt signed by our AS (RFC 9068 §4), so the raw
// ID token (typ JWT, IdP key) and the ID-JAG (typ oauth-id-jag+jwt, IdP
// key) are refused (docs/protocol.md §6 item 37), as is a token for another
// resource (item 38).
func (m *MCPServer) verify(tok string) (*auth.TokenInfo, error) {
	a := m.currentAS()
	_, payload, err := verifyWith(tok, []jose.SignatureAlgorithm{jose.ES256}, typAccessToken, a.keys.public())
	if err != nil {
		return nil, err
	}
	var cl accessTokenClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, err
	}
	if cl.Iss != a.issuer {
		return nil, errors.New("issuer")
	}
	if !slices.Contains(cl.Aud.vals, m.URL()) {
		return nil, errors.New("audience")
	}
	if err := timeChecks(m.tb.Now(), m.tb.opts.ClockSkew, cl.Exp, cl.Iat, cl.Nbf); err != nil {
		return nil, err
	}
	if cl.Sub == "" || cl.ClientID == "" {
		return nil, errors.New("sub or client_id missing")
	}
	jkt, ok := cnfJKT(cl.Cnf)
	if !ok {
		return nil, errors.New("cnf")
	}
	return &auth.TokenInfo{
		Scopes: scopeList(cl.Scope),
		// UserID lets the go-sdk bind sessions to the user.
		UserID: cl.Sub,
		Extra:  map[string]any{"client_id": cl.ClientID, "exp": cl.Exp.Unix(), "jkt": jkt},
	}, nil
}
