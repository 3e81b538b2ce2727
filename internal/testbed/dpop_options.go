package testbed

import (
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoPOptions turn on RFC 9449 sender-constrained tokens at the IdP's
// token exchange, the AS's jwt-bearer grant and the MCP server. The zero
// value leaves DPoP off: DPoP headers are ignored, as by a server that does
// not know them, and a cnf-bound ID-JAG is refused.
type DPoPOptions struct {
	// Enabled turns DPoP on. Then a valid proof at the token exchange puts
	// cnf.jkt in the ID-JAG (JAG §7.4.1.1); a cnf-bound ID-JAG needs a proof
	// of that key at the AS, and a proof at the AS binds the access token
	// (token_type DPoP, cnf.jkt; JAG §7.4.1.2); the MCP server accepts
	// "Authorization: DPoP" with a proof and refuses a bound token without
	// one (RFC 9449 §7). Both servers advertise
	// dpop_signing_alg_values_supported (RFC 9449 §5.1).
	Enabled bool
	// Algorithms is the proof alg allow-list and what is advertised;
	// default ES256, ES384, PS256, RS256. Only asymmetric algorithms are
	// allowed (RFC 9449 §4.2).
	Algorithms []string
	// IatWindow is how far a proof's iat may be from the testbed clock,
	// either way; default 5 minutes (SEP-1932), negative means 0.
	IatWindow time.Duration
	// RequireNonce lists the endpoints that demand a server nonce (RFC 9449
	// §8, §9): EndpointIdPToken, EndpointASToken, EndpointMCP.
	RequireNonce []Endpoint
	// RotateNonceEvery makes an endpoint that requires nonces issue a new
	// one after this many accepted proofs; from then on the old nonce is
	// refused with use_dpop_nonce. Zero rotates only on
	// [Testbed.RotateDPoPNonce].
	RotateNonceEvery int
	// RequireProof makes DPoP mandatory: the AS refuses a jwt-bearer grant
	// without a proof (JAG §7.4.1.2.4) and the MCP server refuses the
	// Bearer scheme.
	RequireProof bool
	// ReplayCacheSize bounds the proof jti values each endpoint remembers;
	// default 10000. When it is full of unexpired entries, new proofs are
	// refused rather than old ones forgotten.
	ReplayCacheSize int
}

// dpopAsymmetric are the algorithms RFC 9449 §4.2 allows (asymmetric,
// never none or a MAC) that go-jose verifies.
var dpopAsymmetric = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

var dpopNonceEndpoints = []Endpoint{EndpointIdPToken, EndpointASToken, EndpointMCP}

func (d DPoPOptions) withDefaults() DPoPOptions {
	if len(d.Algorithms) == 0 {
		d.Algorithms = []string{"ES256", "ES384", "PS256", "RS256"}
	}
	if d.IatWindow == 0 {
		d.IatWindow = 5 * time.Minute
	}
	if d.IatWindow < 0 {
		d.IatWindow = 0
	}
	if d.ReplayCacheSize <= 0 {
		d.ReplayCacheSize = 10000
	}
	return d
}

func (d DPoPOptions) validate() error {
	for _, a := range d.Algorithms {
		if !slices.Contains(dpopAsymmetric, a) {
			return fmt.Errorf("testbed: DPoP algorithm %q is not an asymmetric JWS algorithm (RFC 9449 §4.2); use one of %v", a, dpopAsymmetric)
		}
	}
	for _, ep := range d.RequireNonce {
		if !slices.Contains(dpopNonceEndpoints, ep) {
			return fmt.Errorf("testbed: DPoP nonces cannot be required at %q; use one of %v", ep, dpopNonceEndpoints)
		}
	}
	if d.RotateNonceEvery < 0 {
		return fmt.Errorf("testbed: DPoP RotateNonceEvery %d is negative", d.RotateNonceEvery)
	}
	return nil
}

func (d DPoPOptions) algs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(d.Algorithms))
	for i, a := range d.Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}
