package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is an issuer's ES256 signing keys. The newest key signs; older keys
// stay published in the JWKS so tokens signed before a rotation still verify
// (EMA §7.4.1 "safe key rotation").
type keySet struct {
	prefix string

	mu   sync.Mutex
	keys []jose.JSONWebKey // private keys, newest last
	seq  int
}

func newKeySet(prefix string) (*keySet, error) {
	ks := &keySet{prefix: prefix}
	if _, err := ks.rotate(true); err != nil {
		return nil, err
	}
	return ks, nil
}

// rotate adds a new signing key and reports its kid; unless keepOld, older
// keys are no longer published.
func (ks *keySet) rotate(keepOld bool) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.seq++
	k := jose.JSONWebKey{Key: priv, KeyID: fmt.Sprintf("%s-%d", ks.prefix, ks.seq), Algorithm: string(jose.ES256), Use: "sig"}
	if !keepOld {
		ks.keys = nil
	}
	ks.keys = append(ks.keys, k)
	return k.KeyID, nil
}

func (ks *keySet) current() jose.JSONWebKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.keys[len(ks.keys)-1]
}

// public returns the JWKS document.
func (ks *keySet) public() jose.JSONWebKeySet {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range ks.keys {
		set.Keys = append(set.Keys, k.Public())
	}
	return set
}

func (ks *keySet) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, ks.public())
}

// sign signs claims with key, setting typ when non-empty.
func sign(key jose.JSONWebKey, typ string, claims any) (string, error) {
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	alg := jose.SignatureAlgorithm(key.Algorithm)
	if alg == "" {
		alg = jose.ES256
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("new signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// verifyWith parses a compact JWS restricted to algs, checks its typ (when
// wantTyp is non-empty: exact string compare, as docs/protocol.md §3.1 says
// implementations do), finds the key by kid (or tries all keys when the
// header has none) and returns the header and the verified payload.
func verifyWith(token string, algs []jose.SignatureAlgorithm, wantTyp string, keys jose.JSONWebKeySet) (jose.Header, []byte, error) {
	jws, err := jose.ParseSignedCompact(token, algs)
	if err != nil {
		return jose.Header{}, nil, fmt.Errorf("parse JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return jose.Header{}, nil, errors.New("want exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if wantTyp != "" {
		if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != wantTyp {
			return h, nil, fmt.Errorf("typ %q, want %q", typ, wantTyp)
		}
	}
	candidates := keys.Keys
	if h.KeyID != "" {
		candidates = keys.Key(h.KeyID)
	}
	if len(candidates) == 0 {
		return h, nil, errUnknownKID
	}
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return h, payload, nil
		}
	}
	return h, nil, errors.New("bad signature")
}

var errUnknownKID = errors.New("unknown kid")

// numericDate is an RFC 7519 §2 NumericDate that refuses anything but a JSON
// number, so a string "exp" fails instead of reading as zero.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("NumericDate: %w", err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return errors.New("NumericDate out of range")
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// stringOrArray is a JSON string or array of strings (RFC 7519 §4.1.3 aud,
// RFC 8707 resource).
type stringOrArray struct {
	vals    []string
	isArray bool
}

func (s *stringOrArray) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		s.vals, s.isArray = []string{one}, false
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or an array of strings")
	}
	s.vals, s.isArray = many, true
	return nil
}

// randomID returns 128 random bits in hex, for jti values and opaque tokens.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// timeChecks applies exp, iat and nbf with skew (RFC 7519 §4.1.4-4.1.6).
// exp and iat are required; nbf is honoured when present.
func timeChecks(now time.Time, skew time.Duration, exp, iat, nbf *numericDate) error {
	if exp == nil {
		return errors.New("exp missing")
	}
	if iat == nil {
		return errors.New("iat missing")
	}
	if !now.Before(exp.Add(skew)) {
		return errors.New("expired")
	}
	if iat.After(now.Add(skew)) {
		return errors.New("iat in the future")
	}
	if nbf != nil && nbf.After(now.Add(skew)) {
		return errors.New("not yet valid (nbf)")
	}
	return nil
}
