package dpop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/internal/origin"
)

// Clock tells the wall time proofs are stamped with. An internal/clock
// Clock satisfies it; nil means the system clock.
type Clock interface {
	Now() time.Time
}

// Request describes the HTTP request one proof is for.
type Request struct {
	// Method is the request's HTTP method, e.g. "POST" (the htm claim).
	Method string
	// URL is the request's target URI. Query and fragment are dropped for
	// the htu claim (RFC 9449 §4.2).
	URL string
	// AccessToken is the token sent with a resource request; when set, the
	// proof carries its hash as ath (RFC 9449 §4.2, §7). Leave it empty at
	// token endpoints.
	AccessToken string
	// Nonce is the last DPoP-Nonce this server sent, if any (RFC 9449 §8,
	// §9).
	Nonce string
}

// proofClaims are the RFC 9449 §4.2 claims; field order is wire order.
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// jtiBytes is 128 random bits; RFC 9449 §4.2 asks for at least 96.
const jtiBytes = 16

// Proof signs a DPoP proof JWT for r (RFC 9449 §4.2), to be sent as the
// request's DPoP header. iat comes from c (nil: the system clock) and jti
// is fresh crypto randomness, so no two proofs are alike.
func (k *Key) Proof(c Clock, r Request) (string, error) {
	if !isToken(r.Method) {
		return "", fmt.Errorf("dpop: proof: %q is not an HTTP method", r.Method)
	}
	htu, err := HTU(r.URL)
	if err != nil {
		return "", err
	}
	if r.Nonce != "" && !validNonce(r.Nonce) {
		return "", errors.New("dpop: proof: the nonce is not a valid DPoP-Nonce value (RFC 9449 §8.1)")
	}
	jti := make([]byte, jtiBytes)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("dpop: proof: jti: %w", err)
	}
	now := time.Now
	if c != nil {
		now = c.Now
	}
	cl := proofClaims{
		JTI:   base64.RawURLEncoding.EncodeToString(jti),
		HTM:   r.Method,
		HTU:   htu,
		IAT:   now().Unix(),
		Nonce: r.Nonce,
	}
	if r.AccessToken != "" {
		cl.ATH = AccessTokenHash(r.AccessToken)
	}
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", fmt.Errorf("dpop: proof: %w", err)
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: proof: sign with %s: %w", k.alg, err)
	}
	return jws.CompactSerialize()
}

// AccessTokenHash is the ath claim for an access token: base64url (no
// padding) of the SHA-256 of its ASCII bytes (RFC 9449 §4.2).
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HTU returns the htu claim for a target URI: the URI without query and
// fragment (RFC 9449 §4.2), with the scheme-based and case normalisation of
// RFC 3986 §6.2.2.1 and §6.2.3 applied (lowercase scheme and host, no
// default port, "/" for an empty path) so that it matches what servers
// compare against. The path is kept as sent. Only http and https URIs with
// a host and no userinfo are accepted.
func HTU(target string) (string, error) {
	origin, u, err := parseOrigin(target)
	if err != nil {
		return "", err
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return origin + path, nil
}

// Origin returns the scheme, host and port of a target URI, normalised as
// in [HTU]: the unit [Nonces] remembers nonces for.
func Origin(target string) (string, error) {
	origin, _, err := parseOrigin(target)
	return origin, err
}

func parseOrigin(target string) (string, *url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, fmt.Errorf("dpop: target URI: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", nil, fmt.Errorf("dpop: target URI %q: scheme must be http or https", redactQuery(u))
	}
	if u.Opaque != "" || u.Host == "" {
		return "", nil, fmt.Errorf("dpop: target URI %q has no host", redactQuery(u))
	}
	if u.User != nil {
		return "", nil, errors.New("dpop: target URI carries userinfo, which never belongs in a request target (RFC 9110 §4.2.4)")
	}
	// The host as the dialer resolves it (IDNA, ASCII case only): the
	// request goes there and its Host header carries that form, which is
	// what the server compares htu with.
	host, ok := origin.Host(u.Hostname())
	if !ok {
		return "", nil, fmt.Errorf("dpop: target URI %q: the host is not a valid (internationalised) host name", redactQuery(u))
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && port != defaultPort[scheme] {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return scheme + "://" + host, u, nil
}

var defaultPort = map[string]string{"http": "80", "https": "443"}

// redactQuery drops query, fragment and userinfo from u for error
// messages: they may carry secrets.
func redactQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.RawFragment, c.User = "", "", "", nil
	return c.String()
}

// isToken reports whether s is an RFC 9110 §5.6.2 token, the syntax of a
// method name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
