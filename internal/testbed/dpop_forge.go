package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ProofFlaw is one way [ForgeProof] breaks a rule of RFC 9449 §4.3, so a
// test can show the testbed refuses it. Each flaw's comment names the
// [ProofRule] the testbed refuses it under.
type ProofFlaw string

// The flaws [ForgeProof] can put in a proof.
const (
	FlawNone           ProofFlaw = ""                 // an honest proof
	FlawNotJWT         ProofFlaw = "not-jwt"          // RuleJWT: two segments
	FlawPaddedBase64   ProofFlaw = "padded-base64"    // RuleJWT: "=" padding in the header segment
	FlawCrit           ProofFlaw = "crit"             // RuleJWT: a crit extension
	FlawTypJWT         ProofFlaw = "typ-jwt"          // RuleTyp: typ JWT
	FlawNoTyp          ProofFlaw = "no-typ"           // RuleTyp
	FlawAlgNone        ProofFlaw = "alg-none"         // RuleAlg: unsigned
	FlawAlgHS256       ProofFlaw = "alg-hs256"        // RuleAlg: a MAC keyed with the public key
	FlawNoJWK          ProofFlaw = "no-jwk"           // RuleJWK
	FlawPrivateJWK     ProofFlaw = "private-jwk"      // RuleJWK: the jwk includes d
	FlawAlgKeyMismatch ProofFlaw = "alg-key-mismatch" // RuleJWK: alg ES384 with a P-256 key
	FlawBadSignature   ProofFlaw = "bad-signature"    // RuleSignature: a flipped signature bit
	FlawSignedByOther  ProofFlaw = "signed-by-other"  // RuleSignature: the jwk is not the signer's
	FlawNoJTI          ProofFlaw = "no-jti"           // RuleClaims
	FlawIatString      ProofFlaw = "iat-string"       // RuleClaims: iat as a JSON string
	FlawHTM            ProofFlaw = "htm"              // RuleHTM: another method
	FlawHTMLowercase   ProofFlaw = "htm-lowercase"    // RuleHTM: methods are case-sensitive
	FlawHTU            ProofFlaw = "htu"              // RuleHTU: another path
	FlawHTUQuery       ProofFlaw = "htu-query"        // RuleHTU: htu keeps the query
	FlawIatPast        ProofFlaw = "iat-past"         // RuleIat: older than the window
	FlawIatFuture      ProofFlaw = "iat-future"       // RuleIat: later than the window
	FlawNoATH          ProofFlaw = "no-ath"           // RuleATH: resource requests only
	FlawATHOtherToken  ProofFlaw = "ath-other-token"  // RuleATH: resource requests only
	FlawNonceStale     ProofFlaw = "nonce-stale"      // RuleNonce: a nonce the server never issued
)

// ForgeRequest describes the request a forged proof is for; its fields mean
// what those of an honest proof would.
type ForgeRequest struct {
	Method      string
	URL         string
	AccessToken string
	Nonce       string
	// IssuedAt is the iat; the flaws FlawIatPast and FlawIatFuture move it
	// by Window plus a minute. Zero means time.Now.
	IssuedAt time.Time
	Window   time.Duration
	Flaw     ProofFlaw
}

// ForgeProof builds an ES256 DPoP proof with key, by hand rather than with
// a JOSE library, so that it can be wrong in exactly the way r.Flaw says.
// With FlawNone it is a correct proof of key, which also lets a test play
// an attacker who holds a stolen token and a key of its own.
func ForgeProof(key *ecdsa.PrivateKey, r ForgeRequest) (string, error) {
	if key.Curve != elliptic.P256() {
		return "", errors.New("testbed: ForgeProof signs with P-256 keys only")
	}
	header, err := forgedHeader(key, r.Flaw)
	if err != nil {
		return "", err
	}
	claims := forgedClaims(r)
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	hSeg := enc(h)
	if r.Flaw == FlawPaddedBase64 {
		hSeg = base64.URLEncoding.EncodeToString(h)
		if !strings.HasSuffix(hSeg, "=") {
			hSeg = enc(append(h, ' ')) + "="
		}
	}
	input := hSeg + "." + enc(c)
	sig, err := forgedSignature(key, input, r.Flaw)
	if err != nil {
		return "", err
	}
	if r.Flaw == FlawNotJWT {
		return input, nil
	}
	return input + "." + enc(sig), nil
}

func forgedHeader(key *ecdsa.PrivateKey, flaw ProofFlaw) (map[string]any, error) {
	jwkKey := any(&key.PublicKey)
	if flaw == FlawPrivateJWK {
		jwkKey = key
	}
	jwkJSON, err := (&jose.JSONWebKey{Key: jwkKey}).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("testbed: forge jwk: %w", err)
	}
	h := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": json.RawMessage(jwkJSON)}
	switch flaw {
	case FlawTypJWT:
		h["typ"] = "JWT"
	case FlawNoTyp:
		delete(h, "typ")
	case FlawAlgNone:
		h["alg"] = "none"
	case FlawAlgHS256:
		h["alg"] = "HS256"
	case FlawAlgKeyMismatch:
		h["alg"] = "ES384"
	case FlawNoJWK:
		delete(h, "jwk")
	case FlawCrit:
		h["crit"] = []string{"exp"}
		h["exp"] = 1
	}
	return h, nil
}

func forgedClaims(r ForgeRequest) map[string]any {
	iat := r.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	htu, _, _ := strings.Cut(r.URL, "?")
	c := map[string]any{"jti": randomID(), "htm": r.Method, "htu": htu, "iat": iat.Unix()}
	if r.AccessToken != "" {
		c["ath"] = athOf(r.AccessToken)
	}
	if r.Nonce != "" {
		c["nonce"] = r.Nonce
	}
	skew := r.Window + time.Minute
	switch r.Flaw {
	case FlawNoJTI:
		delete(c, "jti")
	case FlawIatString:
		c["iat"] = fmt.Sprint(iat.Unix())
	case FlawHTM:
		c["htm"] = map[bool]string{true: "GET", false: "POST"}[r.Method != "GET"]
	case FlawHTMLowercase:
		c["htm"] = strings.ToLower(r.Method)
	case FlawHTU:
		c["htu"] = htu + "/other"
	case FlawHTUQuery:
		c["htu"] = htu + "?x=1"
	case FlawIatPast:
		c["iat"] = iat.Add(-skew).Unix()
	case FlawIatFuture:
		c["iat"] = iat.Add(skew).Unix()
	case FlawNoATH:
		delete(c, "ath")
	case FlawATHOtherToken:
		c["ath"] = athOf(r.AccessToken + "x")
	case FlawNonceStale:
		c["nonce"] = "stale-" + randomID()
	}
	return c
}

func forgedSignature(key *ecdsa.PrivateKey, input string, flaw ProofFlaw) ([]byte, error) {
	switch flaw {
	case FlawAlgNone:
		return []byte{0}, nil // a segment must not be empty to reach the alg rule
	case FlawAlgHS256:
		// The classic confusion attack: a MAC keyed with the public key.
		sum := sha256.Sum256(append(elliptic.MarshalCompressed(key.Curve, key.X, key.Y), input...))
		return sum[:], nil
	case FlawSignedByOther:
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		key = other
	}
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("testbed: forge signature: %w", err)
	}
	// RFC 7518 §3.4: R and S as 32-byte big-endian integers.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	if flaw == FlawBadSignature {
		sig[10] ^= 0x01
	}
	return sig, nil
}

func athOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
