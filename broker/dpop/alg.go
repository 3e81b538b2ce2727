package dpop

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Algorithm is a JWS algorithm for DPoP proofs (RFC 9449 §4.2: asymmetric,
// never none or a MAC).
type Algorithm string

// The algorithms a [Key] can use.
const (
	ES256 Algorithm = "ES256" // ECDSA P-256 with SHA-256, the default
	ES384 Algorithm = "ES384" // ECDSA P-384 with SHA-384
	PS256 Algorithm = "PS256" // RSASSA-PSS 2048-bit with SHA-256
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 2048-bit with SHA-256
)

// preference is the order [ChooseAlgorithm] tries: small, fast EC keys
// first, and PSS before PKCS#1 v1.5 among RSA.
var preference = []Algorithm{ES256, ES384, PS256, RS256}

// Supported returns the algorithms this package implements, most preferred
// first.
func Supported() []Algorithm { return slices.Clone(preference) }

func (a Algorithm) valid() bool { return slices.Contains(preference, a) }

// ErrNoCommonAlgorithm means the servers advertise no DPoP algorithm this
// package implements in common.
var ErrNoCommonAlgorithm = errors.New("dpop: no signing algorithm in common")

// ChooseAlgorithm returns the first algorithm, in our preference order, that
// every advertised list contains. Each list is one server's
// dpop_signing_alg_values_supported (RFC 9449 §5.1), from the IdP and the
// authorization servers the key will be used with. A nil list (the server
// published none) counts as ["ES256"]: RFC 9449 defines no default, and
// ES256 is the algorithm DPoP servers accept most widely. Names are compared
// exactly, as JWS alg values are case-sensitive (RFC 7515 §4.1.1).
func ChooseAlgorithm(advertised ...[]string) (Algorithm, error) {
	for _, a := range preference {
		if acceptedByAll(a, advertised) {
			return a, nil
		}
	}
	var lists []string
	for _, l := range advertised {
		if l == nil {
			l = []string{string(ES256)}
		}
		lists = append(lists, "["+strings.Join(l, " ")+"]")
	}
	return "", fmt.Errorf("%w: servers advertise %s, this client signs with %v", ErrNoCommonAlgorithm, strings.Join(lists, ", "), preference)
}

func acceptedByAll(a Algorithm, advertised [][]string) bool {
	for _, l := range advertised {
		if l == nil {
			l = []string{string(ES256)}
		}
		if !slices.Contains(l, string(a)) {
			return false
		}
	}
	return true
}
