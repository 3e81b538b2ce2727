package testbed

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ProofRule names the RFC 9449 §4.3 check a DPoP proof failed. Refusals
// name it at the start of their error_description, so tests can tell which
// rule fired.
type ProofRule string

// The rules of RFC 9449 §4.3, in the order the testbed checks them.
const (
	RuleOneHeader ProofRule = "one-header" // exactly one DPoP header field
	RuleJWT       ProofRule = "jwt"        // a compact JWS of JSON objects, canonical base64url
	RuleTyp       ProofRule = "typ"        // typ is dpop+jwt
	RuleAlg       ProofRule = "alg"        // alg on the asymmetric allow-list
	RuleJWK       ProofRule = "jwk"        // a public key with no private members, fitting alg
	RuleSignature ProofRule = "signature"  // verifies with the embedded jwk
	RuleClaims    ProofRule = "claims"     // jti, htm, htu, iat present and well typed
	RuleHTM       ProofRule = "htm"        // the request's method
	RuleHTU       ProofRule = "htu"        // the request's URI, normalised, no query or fragment
	RuleIat       ProofRule = "iat"        // within the window around the testbed clock
	RuleATH       ProofRule = "ath"        // hash of the presented access token
	RuleNonce     ProofRule = "nonce"      // the server's current nonce (use_dpop_nonce)
	RuleReplay    ProofRule = "jti"        // jti not seen before for this key
	RuleBinding   ProofRule = "cnf"        // the proof's key is the one the token is bound to
)

// maxProofLen bounds a DPoP header; a proof with a 4096-bit RSA jwk is
// under 2 KiB.
const maxProofLen = 8 << 10

// dpopPrivateMembers are the JWK members that carry private key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var dpopPrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

type proofError struct {
	rule ProofRule
	desc string
}

func (e *proofError) Error() string { return string(e.rule) + ": " + e.desc }

func proofErr(rule ProofRule, format string, args ...any) *proofError {
	return &proofError{rule: rule, desc: fmt.Sprintf(format, args...)}
}

// dpopClaims are the RFC 9449 §4.2 claims. Pointers tell absent from
// empty; a wrongly typed member fails to decode.
type dpopClaims struct {
	JTI   *string      `json:"jti"`
	HTM   *string      `json:"htm"`
	HTU   *string      `json:"htu"`
	IAT   *numericDate `json:"iat"`
	ATH   *string      `json:"ath"`
	Nonce *string      `json:"nonce"`
}

// parsedProof is a proof whose form and signature are good; the checks
// against the request come after.
type parsedProof struct {
	jkt    string
	claims dpopClaims
}

// parseDPoPProof applies the request-independent rules of RFC 9449 §4.3
// (items 2-7: a JWT, typ, alg, jwk, signature, required claims).
func parseDPoPProof(proof string, algs []jose.SignatureAlgorithm) (*parsedProof, *proofError) {
	header, err := proofSegments(proof)
	if err != nil {
		return nil, err
	}
	if err := checkProofHeader(header, algs); err != nil {
		return nil, err
	}
	jws, perr := jose.ParseSignedCompact(proof, algs)
	if perr != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Protected.JSONWebKey == nil {
		return nil, proofErr(RuleJWT, "not a compact JWS with an embedded jwk")
	}
	jwk := jws.Signatures[0].Protected.JSONWebKey
	if err := checkProofKey(jwk, jose.SignatureAlgorithm(jws.Signatures[0].Protected.Algorithm)); err != nil {
		return nil, err
	}
	payload, verr := jws.Verify(jwk)
	if verr != nil {
		return nil, proofErr(RuleSignature, "the signature does not verify with the embedded jwk")
	}
	p := &parsedProof{}
	if !isJSONObject(payload) || json.Unmarshal(payload, &p.claims) != nil {
		return nil, proofErr(RuleClaims, "the claims are not a JSON object of well-typed members")
	}
	c := p.claims
	if c.JTI == nil || *c.JTI == "" || len(*c.JTI) > 256 || c.HTM == nil || c.HTU == nil || c.IAT == nil {
		return nil, proofErr(RuleClaims, "jti, htm, htu and iat are required (RFC 9449 §4.2)")
	}
	sum, terr := jwk.Thumbprint(crypto.SHA256)
	if terr != nil {
		return nil, proofErr(RuleJWK, "no thumbprint for the jwk")
	}
	p.jkt = base64.RawURLEncoding.EncodeToString(sum)
	return p, nil
}

// proofSegments checks the compact form and returns the decoded header.
// Base64url must be canonical (RFC 7515 §2 without padding, no stray bits),
// so one proof has one spelling and cannot be replayed in another.
func proofSegments(proof string) ([]byte, *proofError) {
	if len(proof) > maxProofLen {
		return nil, proofErr(RuleJWT, "longer than %d bytes", maxProofLen)
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, proofErr(RuleJWT, "want three dot-separated segments, got %d", len(parts))
	}
	var header []byte
	for i, part := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(part)
		if err != nil || len(b) == 0 {
			return nil, proofErr(RuleJWT, "segment %d is not canonical base64url", i+1)
		}
		if i == 0 {
			header = b
		}
	}
	if !isJSONObject(header) {
		return nil, proofErr(RuleJWT, "the header is not a JSON object")
	}
	return header, nil
}

// checkProofHeader reads typ, alg, jwk and crit from the raw header, before
// any library interprets it.
func checkProofHeader(header []byte, algs []jose.SignatureAlgorithm) *proofError {
	var h struct {
		Typ  *string                    `json:"typ"`
		Alg  *string                    `json:"alg"`
		JWK  map[string]json.RawMessage `json:"jwk"`
		Crit json.RawMessage            `json:"crit"`
	}
	if json.Unmarshal(header, &h) != nil {
		return proofErr(RuleJWT, "the header members are wrongly typed")
	}
	// RFC 9449 §4.2: typ is exactly dpop+jwt (explicit typing, RFC 8725 §3.11).
	if h.Typ == nil || *h.Typ != "dpop+jwt" {
		return proofErr(RuleTyp, "typ must be dpop+jwt")
	}
	if h.Alg == nil || !slices.Contains(algs, jose.SignatureAlgorithm(*h.Alg)) {
		return proofErr(RuleAlg, "alg is not one of %v (none and MACs never are)", algs)
	}
	if h.JWK == nil {
		return proofErr(RuleJWK, "the jwk header is missing")
	}
	for _, m := range dpopPrivateMembers {
		if _, ok := h.JWK[m]; ok {
			return proofErr(RuleJWK, "the jwk carries private member %q (RFC 9449 §4.3 item 7)", m)
		}
	}
	if h.Crit != nil {
		// RFC 7515 §4.1.11: extensions we do not understand must be refused.
		return proofErr(RuleJWT, "crit extensions are not supported")
	}
	return nil
}

// checkProofKey refuses a jwk that is not a public asymmetric key fit for
// alg: an RSA key under 2048 bits (RFC 7518 §3.3) or an EC key on another
// curve than alg names.
func checkProofKey(jwk *jose.JSONWebKey, alg jose.SignatureAlgorithm) *proofError {
	if !jwk.Valid() || !jwk.IsPublic() {
		return proofErr(RuleJWK, "the jwk is not a valid public key")
	}
	switch k := jwk.Key.(type) {
	case *rsa.PublicKey:
		if !strings.HasPrefix(string(alg), "RS") && !strings.HasPrefix(string(alg), "PS") {
			return proofErr(RuleJWK, "an RSA jwk cannot verify %s", alg)
		}
		if k.N.BitLen() < 2048 {
			return proofErr(RuleJWK, "the RSA jwk has %d bits, under 2048", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		want := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		if want == nil || k.Curve != want {
			return proofErr(RuleJWK, "an EC jwk on %s cannot verify %s", k.Curve.Params().Name, alg)
		}
	default:
		if alg != jose.EdDSA {
			return proofErr(RuleJWK, "a %T jwk cannot verify %s", jwk.Key, alg)
		}
	}
	return nil
}

// proofRequest is what a proof is checked against.
type proofRequest struct {
	method string
	// target is the URL the server serves this request at; its query is
	// ignored (RFC 9449 §4.3 item 9).
	target string
	// accessToken is the token presented with a resource request, for ath.
	accessToken string
	// jkt is the thumbprint the presented token is bound to (cnf.jkt).
	jkt string
}

// checkAgainst applies RFC 9449 §4.3 items 8, 9, 11 and 12 (htm, htu,
// iat, ath); nonce and jti are the server's state and come after.
func (p *parsedProof) checkAgainst(req proofRequest, now time.Time, window time.Duration) *proofError {
	c := p.claims
	// Item 12: the key the access token is bound to.
	if req.jkt != "" && p.jkt != req.jkt {
		return proofErr(RuleBinding, "the proof's key is not the key the access token is bound to (cnf.jkt)")
	}
	// RFC 9110 §9.1: methods are case-sensitive.
	if *c.HTM != req.method {
		return proofErr(RuleHTM, "htm %q is not the request method %s", *c.HTM, req.method)
	}
	if err := checkHTU(*c.HTU, req.target); err != nil {
		return err
	}
	iat := c.IAT.Time
	if iat.Before(now.Add(-window)) || iat.After(now.Add(window)) {
		return proofErr(RuleIat, "iat is %s from the server clock, more than %s", iat.Sub(now).Round(time.Second), window)
	}
	if req.accessToken != "" {
		if c.ATH == nil || *c.ATH != athOf(req.accessToken) {
			return proofErr(RuleATH, "ath is not the hash of the presented access token")
		}
	}
	return nil
}

func checkHTU(claim, target string) *proofError {
	// RFC 9449 §4.2: htu carries no query and no fragment.
	if strings.ContainsAny(claim, "?#") {
		return proofErr(RuleHTU, "htu has a query or fragment")
	}
	got, err := normalizeHTU(claim)
	if err != nil {
		return proofErr(RuleHTU, "htu: %v", err)
	}
	want, err := normalizeHTU(target)
	if err != nil || got != want {
		return proofErr(RuleHTU, "htu %q is not this endpoint, %q", claim, want)
	}
	return nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 1 && b[0] == '{' && json.Valid(b)
}

// dpopPresent reports whether a request carries any DPoP header at all.
func dpopPresent(r *http.Request) bool { return len(r.Header.Values("DPoP")) > 0 }
