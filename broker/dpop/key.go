package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/go-jose/go-jose/v4"
)

// rsaBits is the size of generated RSA keys: the RFC 7518 §3.3 minimum,
// which keeps key generation at sign-in short.
const rsaBits = 2048

// maxKeyBytes bounds what [ParsePrivate] reads; a private RSA JWK of 4096
// bits is about 3.2 KiB.
const maxKeyBytes = 16 << 10

// Key is one identity's DPoP key pair. It is immutable and safe for
// concurrent use. Printing it in any form, logging it with slog or
// marshalling it as JSON never reveals the private key: only
// [Key.MarshalPrivate] does.
type Key struct {
	alg    Algorithm
	priv   crypto.Signer // *ecdsa.PrivateKey or *rsa.PrivateKey
	signer jose.Signer   // typ dpop+jwt, public key embedded as jwk
	jwk    []byte        // the public JWK, as embedded in proofs
	jkt    string
}

// GenerateKey makes a new key for alg: P-256 or P-384 for ES256 and ES384,
// 2048-bit RSA for PS256 and RS256.
func GenerateKey(alg Algorithm) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case PS256, RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("dpop: cannot generate a key for algorithm %q (supported: %v)", alg, preference)
	}
	if err != nil {
		return nil, fmt.Errorf("dpop: generate %s key: %w", alg, err)
	}
	return newKey(alg, priv)
}

func newKey(alg Algorithm, priv crypto.Signer) (*Key, error) {
	if err := checkKeyType(alg, priv); err != nil {
		return nil, err
	}
	// RFC 9449 §4.2: typ is dpop+jwt and the public key travels in the jwk
	// header; go-jose embeds only the public members and no kid.
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: priv}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: signer for %s key: %w", alg, err)
	}
	pub := jose.JSONWebKey{Key: priv.Public()}
	jwk, err := pub.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("dpop: public JWK: %w", err)
	}
	jkt, err := thumbprint(&pub)
	if err != nil {
		return nil, err
	}
	return &Key{alg: alg, priv: priv, signer: signer, jwk: jwk, jkt: jkt}, nil
}

// checkKeyType refuses a key whose type or size does not fit alg, so a
// stored key cannot be used with an algorithm it was not made for.
func checkKeyType(alg Algorithm, priv crypto.Signer) error {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		want := map[Algorithm]elliptic.Curve{ES256: elliptic.P256(), ES384: elliptic.P384()}[alg]
		if want == nil || k.Curve != want {
			return fmt.Errorf("dpop: an EC key on %s cannot sign %s", k.Curve.Params().Name, alg)
		}
	case *rsa.PrivateKey:
		if alg != PS256 && alg != RS256 {
			return fmt.Errorf("dpop: an RSA key cannot sign %s", alg)
		}
		if k.N.BitLen() < rsaBits {
			return fmt.Errorf("dpop: RSA key of %d bits is too small (minimum %d)", k.N.BitLen(), rsaBits)
		}
		if err := k.Validate(); err != nil {
			return errors.New("dpop: RSA key is inconsistent")
		}
	default:
		return fmt.Errorf("dpop: unsupported key type %T", priv)
	}
	return nil
}

// Algorithm returns the key's signing algorithm.
func (k *Key) Algorithm() Algorithm { return k.alg }

// Thumbprint returns the key's RFC 7638 JWK SHA-256 thumbprint, base64url
// without padding: the jkt of RFC 9449 §6.1. It is safe to show and log.
func (k *Key) Thumbprint() string { return k.jkt }

// PublicJWK returns the public key as a JWK (RFC 7517) JSON object, exactly
// as it is embedded in proofs.
func (k *Key) PublicJWK() []byte { return append([]byte(nil), k.jwk...) }

// MarshalPrivate returns the private key as a JWK JSON object carrying its
// algorithm, for sealed storage; [ParsePrivate] reads it back. The bytes are
// the secret itself: seal them, never log them.
func (k *Key) MarshalPrivate() ([]byte, error) {
	b, err := (&jose.JSONWebKey{Key: k.priv, Algorithm: string(k.alg), Use: "sig"}).MarshalJSON()
	if err != nil {
		return nil, errors.New("dpop: cannot marshal the private key")
	}
	return b, nil
}

// ParsePrivate reads a key written by [Key.MarshalPrivate]. It refuses a
// public key, an unsupported algorithm and a key that does not fit its
// algorithm. Its errors never quote the input.
func ParsePrivate(b []byte) (*Key, error) {
	if len(b) > maxKeyBytes {
		return nil, fmt.Errorf("dpop: stored key is %d bytes, more than the %d a key can be", len(b), maxKeyBytes)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(b); err != nil {
		return nil, errors.New("dpop: stored key is not a JWK")
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return nil, fmt.Errorf("dpop: stored key has use %q, want sig", jwk.Use)
	}
	alg := Algorithm(jwk.Algorithm)
	if !alg.valid() {
		return nil, fmt.Errorf("dpop: stored key has algorithm %q (supported: %v)", jwk.Algorithm, preference)
	}
	priv, ok := jwk.Key.(crypto.Signer)
	if !ok || jwk.IsPublic() {
		return nil, errors.New("dpop: stored key has no private part")
	}
	return newKey(alg, priv)
}

// Thumbprint computes the RFC 7638 SHA-256 thumbprint of a public JWK (a
// JSON object), base64url without padding, as servers compute cnf.jkt.
func Thumbprint(publicJWK []byte) (string, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(publicJWK); err != nil {
		return "", fmt.Errorf("dpop: thumbprint: not a JWK: %w", err)
	}
	if !jwk.IsPublic() {
		return "", errors.New("dpop: thumbprint: the JWK is not a public key")
	}
	return thumbprint(&jwk)
}

func thumbprint(jwk *jose.JSONWebKey) (string, error) {
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: thumbprint: %w", err)
	}
	if len(sum) != sha256.Size {
		return "", errors.New("dpop: thumbprint: unexpected digest size")
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// String describes the key by algorithm and thumbprint only.
func (k Key) String() string { return fmt.Sprintf("dpop.Key{%s %s}", k.alg, k.jkt) }

// GoString is String, so %#v does not print the private key either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so no verb (%d, %x, %+v) walks the
// private key's fields.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs the algorithm and thumbprint.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("alg", string(k.alg)), slog.String("jkt", k.jkt))
}

// MarshalJSON refuses, so a Key put into a JSON document by mistake fails
// loudly instead of being written out. Use [Key.MarshalPrivate] for storage
// and [Key.PublicJWK] to publish the public half.
func (k Key) MarshalJSON() ([]byte, error) {
	return nil, errors.New("dpop: a Key is not marshalled as JSON; use MarshalPrivate for sealed storage")
}
