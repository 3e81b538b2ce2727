package grant

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AuthMethod is a token endpoint client authentication method, named as in
// the token_endpoint_auth_methods_supported registry.
type AuthMethod string

// The supported methods.
const (
	ClientSecretBasic AuthMethod = "client_secret_basic"
	ClientSecretPost  AuthMethod = "client_secret_post"
	PrivateKeyJWT     AuthMethod = "private_key_jwt"
	None              AuthMethod = "none"
)

// ClientAssertionType is the RFC 7523 §2.2 client_assertion_type value.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAuth is how the client proves its identity at one token endpoint.
// The zero Method means client_secret_basic.
type ClientAuth struct {
	Method   AuthMethod
	ClientID string
	// Secret is used by client_secret_basic and client_secret_post.
	Secret string
	// Key and KeyID are used by private_key_jwt; see [LoadPrivateKey].
	Key   crypto.Signer
	KeyID string
}

// Validate reports a configuration that cannot authenticate.
func (a ClientAuth) Validate() error {
	if a.ClientID == "" {
		return errors.New("client_id is empty")
	}
	switch a.method() {
	case ClientSecretBasic, ClientSecretPost:
		if a.Secret == "" {
			return fmt.Errorf("%s needs a client secret", a.method())
		}
	case PrivateKeyJWT:
		if a.Key == nil {
			return errors.New("private_key_jwt needs a private key")
		}
		if _, err := signingAlg(a.Key); err != nil {
			return err
		}
	case None:
	default:
		return fmt.Errorf("unknown client authentication method %q", a.Method)
	}
	return nil
}

func (a ClientAuth) method() AuthMethod {
	if a.Method == "" {
		return ClientSecretBasic
	}
	return a.Method
}

// apply adds the client's credentials to a token request. audience is the
// value for the aud claim of a private_key_jwt assertion.
func (a ClientAuth) apply(req *http.Request, form url.Values, audience string, now time.Time) error {
	switch a.method() {
	case ClientSecretBasic:
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before they
		// go into the Basic credentials; many servers reject raw values
		// with reserved characters.
		req.SetBasicAuth(url.QueryEscape(a.ClientID), url.QueryEscape(a.Secret))
	case ClientSecretPost:
		form.Set("client_id", a.ClientID)
		form.Set("client_secret", a.Secret)
	case PrivateKeyJWT:
		assertion, err := a.clientAssertion(audience, now)
		if err != nil {
			return err
		}
		form.Set("client_id", a.ClientID)
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
	case None:
		form.Set("client_id", a.ClientID)
	default:
		return fmt.Errorf("unknown client authentication method %q", a.Method)
	}
	return nil
}

// clientAssertion builds the RFC 7523 §2.2 / §3 JWT: iss = sub = client_id,
// aud = the server, a short exp and a unique jti so the server can refuse
// replays.
func (a ClientAuth) clientAssertion(audience string, now time.Time) (string, error) {
	alg, err := signingAlg(a.Key)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if a.KeyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), a.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: a.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("client assertion signer: %w", err)
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer:   a.ClientID,
		Subject:  a.ClientID,
		Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(2 * time.Minute)),
		ID:       hex.EncodeToString(jti),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func signingAlg(k crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("private_key_jwt: only P-256 EC keys (ES256) are supported")
		}
		return jose.ES256, nil
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", errors.New("private_key_jwt: RSA keys must have at least 2048 bits")
		}
		return jose.RS256, nil
	default:
		return "", fmt.Errorf("private_key_jwt: unsupported key type %T (want EC P-256 or RSA)", pub)
	}
}
