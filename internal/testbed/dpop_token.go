package testbed

import (
	"encoding/json"
	"net/http"
)

// tokenProof checks the DPoP proof of a request to the token endpoint ep
// (RFC 9449 §5) and returns its key's thumbprint: "" when the request has
// no DPoP header or DPoP is off (a server without DPoP ignores the header).
// It runs before client authentication and grant processing, so a nonce
// challenge consumes neither a client assertion nor an ID-JAG: the client
// retries the same request with a new proof (RFC 9449 §8).
func (tb *Testbed) tokenProof(w http.ResponseWriter, r *http.Request, ep Endpoint, target string) (string, *oauthError) {
	s := tb.dpop.server(ep)
	if s == nil || !dpopPresent(r) {
		return "", nil
	}
	jkt, err := s.verify(r, proofRequest{method: r.Method, target: target})
	s.setNonceHeader(w)
	switch {
	case err == nil:
		return jkt, nil
	case err.rule == RuleNonce:
		return "", errf(http.StatusBadRequest, "use_dpop_nonce", "%s", err)
	default:
		return "", errf(http.StatusBadRequest, "invalid_dpop_proof", "%s", err)
	}
}

// dpopMetadata adds RFC 9449 §5.1 dpop_signing_alg_values_supported to a
// metadata document when DPoP is on.
func (tb *Testbed) dpopMetadata(md map[string]any) {
	if tb.dpop != nil {
		md["dpop_signing_alg_values_supported"] = tb.dpop.opts.Algorithms
	}
}

// cnfJKT reads the RFC 7800 cnf claim of a token: "" when absent or null,
// the jkt (RFC 9449 §6.1) when it is {"jkt": "..."}, an error for any other
// shape, including confirmation methods the testbed does not know.
func cnfJKT(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var cnf map[string]json.RawMessage
	if json.Unmarshal(raw, &cnf) != nil || len(cnf) != 1 {
		return "", false
	}
	var jkt string
	if json.Unmarshal(cnf["jkt"], &jkt) != nil || jkt == "" {
		return "", false
	}
	return jkt, true
}

// checkIDJAGBinding is docs/protocol.md §3.3 step 11 and JAG §7.4.1.2: a
// cnf-bound ID-JAG needs a proof of exactly that key; without DPoP it
// cannot be honoured at all.
func (a *AS) checkIDJAGBinding(cl *idjagClaims, jkt string) *oauthError {
	bound, ok := cnfJKT(cl.Cnf)
	if a.tb.dpop == nil {
		if !ok || bound != "" {
			return invalidGrant("assertion is key-bound (cnf) but DPoP is not supported")
		}
		return nil
	}
	switch {
	case !ok:
		return invalidGrant("assertion cnf must be {\"jkt\": <thumbprint>}")
	case bound != "" && jkt == "":
		return invalidGrant("proof of possession required for this authorization grant (cnf.jkt without a DPoP proof)")
	case bound != "" && jkt != bound:
		return invalidGrant("the DPoP proof's key is not the key the assertion is bound to (cnf.jkt)")
	case jkt == "" && a.tb.dpop.opts.RequireProof:
		return invalidGrant("sender-constrained tokens required for this resource server: send a DPoP proof")
	}
	return nil
}

// bindAccessToken binds an access token to the proof's key (RFC 9449 §6.1)
// and returns the token_type to answer (RFC 9449 §5).
func (a *AS) bindAccessToken(claims map[string]any, jkt string, tw ASTweaks) string {
	if jkt == "" || tw.BearerDespiteProof {
		return "Bearer"
	}
	claims["cnf"] = map[string]string{"jkt": jkt}
	return "DPoP"
}

// idjagCnf is the cnf claim the IdP puts in an ID-JAG after a valid proof
// at the token exchange (JAG §7.4.1.1), or nil.
func idjagCnf(jkt string, tw IdPTweaks) map[string]string {
	switch {
	case tw.IDJAGOmitCnf:
		return nil
	case tw.IDJAGCnfJKT != "":
		return map[string]string{"jkt": tw.IDJAGCnfJKT}
	case jkt != "":
		return map[string]string{"jkt": jkt}
	}
	return nil
}
