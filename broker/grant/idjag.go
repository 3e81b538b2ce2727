package grant

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// IDJAGSkew is how far past its exp an ID-JAG may be and still be sent:
// the clock tolerance an authorization server applies on exp (RFC 7523 §3
// item 4 allows "some small leeway, usually no more than a few minutes").
const IDJAGSkew = 60 * time.Second

// idjagAlgs are the JWS algorithms an ID-JAG may use: asymmetric only (EMA
// §7.4.1 forbids "none"; HMAC would need a secret the client and AS share).
var idjagAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

type jagClaims struct {
	Aud      json.RawMessage `json:"aud"`
	Resource json.RawMessage `json:"resource"`
	Exp      json.RawMessage `json:"exp"`
	// Cnf is the RFC 7800 confirmation, {"jkt": ...} for an ID-JAG bound
	// to a DPoP key (checkKeyBinding).
	Cnf json.RawMessage `json:"cnf"`
	// exp is Exp as a time; zero for a JWE, whose claims are not readable.
	exp time.Time
}

// inspectIDJAG decodes the ID-JAG without verifying it (the client has no
// reason to trust or distrust the IdP's keys; the AS verifies) and checks
// it was minted for what we asked and is still valid at now: defence in
// depth against an IdP bug or a mix-up (JAG §9.4; docs/protocol.md §6 item
// 8), and no ID-JAG the AS must refuse is ever sent to it.
//
// An ID-JAG encrypted to the AS (EMA §7.8) cannot be read by the client:
// it is recognised by its protected header, never by counting dots, and
// passed through with only its form checked.
func inspectIDJAG(token, audience, resource string, now time.Time) (*jagClaims, error) {
	if !compactChars(token) {
		return nil, fmt.Errorf("%w: the ID-JAG is not a compact JWS or JWE (characters outside base64url and '.')", ErrRejectedToken)
	}
	if strings.Count(token, ".") == 4 {
		if err := checkJWE(token); err != nil {
			return nil, fmt.Errorf("%w: the ID-JAG has five parts but is not a JWE: %v", ErrRejectedToken, err)
		}
		return &jagClaims{}, nil
	}
	jws, err := jose.ParseSignedCompact(token, idjagAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: ID-JAG is not a compact JWS with an asymmetric algorithm: %v", ErrRejectedToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: ID-JAG has %d signatures", ErrRejectedToken, len(jws.Signatures))
	}
	typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string)
	if !isIDJAGType(typ) {
		return nil, fmt.Errorf("%w: ID-JAG typ is %q, want %q", ErrRejectedToken, httpx.Clip(typ), IDJAGType)
	}
	var c jagClaims
	if err := strictjson.Decode(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, fmt.Errorf("%w: ID-JAG claims do not parse: %v", ErrRejectedToken, err)
	}
	if err := c.check(audience, resource, now); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejectedToken, err)
	}
	return &c, nil
}

// check applies the claim rules: aud is exactly the AS issuer asked for
// (one string, or an array of exactly that one); resource, when present,
// exactly the resource asked for (some IdPs omit it, docs/protocol.md §5.3
// item 2); exp, which JAG §3.1 and RFC 7523 §3 item 4 require, a
// NumericDate (RFC 7519 §2) not more than IDJAGSkew in the past.
func (c *jagClaims) check(audience, resource string, now time.Time) error {
	if !oneValue(c.Aud, audience) {
		return fmt.Errorf("ID-JAG aud is %s, want %q", clipRaw(c.Aud), audience)
	}
	if resource != "" && len(c.Resource) > 0 && string(c.Resource) != "null" && !oneValue(c.Resource, resource) {
		return fmt.Errorf("ID-JAG resource is %s, want %q", clipRaw(c.Resource), resource)
	}
	exp, ok := numericDate(c.Exp)
	if !ok {
		return fmt.Errorf("ID-JAG exp is %s; a NumericDate is required (RFC 7523 §3)", clipRaw(c.Exp))
	}
	if now.After(exp.Add(IDJAGSkew)) {
		return fmt.Errorf("ID-JAG expired at %s, before it could be used (is the IdP's or this machine's clock wrong?)", exp.UTC().Format(time.RFC3339))
	}
	c.exp = exp
	return nil
}

// maxNumericDate is the end of year 9999: later dates are clamped, so a
// huge exp can neither overflow time.Time arithmetic nor mean "never".
const maxNumericDate = 253402300799

// numericDate reads an RFC 7519 §2 NumericDate: a JSON number of seconds
// (fractions allowed), not a string.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if len(raw) == 0 || raw[0] == '"' || string(raw) == "null" || json.Unmarshal(raw, &f) != nil || math.IsNaN(f) {
		return time.Time{}, false
	}
	f = math.Max(math.Min(f, maxNumericDate), -maxNumericDate)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// isIDJAGType applies RFC 7515 §4.1.9 to typ: "application/" may be
// omitted and media types compare case-insensitively (ASCII; a media type
// has no other letters).
func isIDJAGType(typ string) bool {
	t := typ
	if len(t) > len("application/") && strings.EqualFold(t[:len("application/")], "application/") {
		t = t[len("application/"):]
	}
	return len(t) == len(IDJAGType) && isASCII(t) && strings.EqualFold(t, IDJAGType)
}

// checkJWE checks the form of a JWE Compact Serialization (RFC 7516 §7.1):
// five base64url parts, a protected header that is a JSON object with the
// "alg" and "enc" members RFC 7516 §4.1.1 and §4.1.2 require (the "enc"
// member is what tells a JWE from a JWS, RFC 7516 §9), and a ciphertext.
func checkJWE(token string) error {
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("its protected header is not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	}
	if err := strictjson.Decode(raw, &h); err != nil {
		return fmt.Errorf("its protected header: %v", err)
	}
	if h.Alg == "" || h.Enc == "" || h.Alg == "none" {
		return fmt.Errorf("its protected header lacks the alg or enc of a JWE")
	}
	for i, p := range parts[1:] {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(p); err != nil {
			return fmt.Errorf("part %d is not base64url", i+2)
		}
	}
	if parts[3] == "" {
		return fmt.Errorf("its ciphertext is empty")
	}
	return nil
}

// compactChars reports whether s uses only the base64url alphabet and
// dots, as JWS and JWE compact serializations do (RFC 7515 §7.1, RFC 7516
// §7.1). Go's base64 decoder would skip CR and LF; this refuses them.
func compactChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// oneValue reports whether raw is the JSON string want, or an array holding
// exactly that one string.
func oneValue(raw json.RawMessage, want string) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil && raw[0] == '"' {
		return s == want
	}
	var arr []string
	if json.Unmarshal(raw, &arr) == nil {
		return len(arr) == 1 && arr[0] == want
	}
	return false
}

// clipRaw shows a raw claim in an error message.
func clipRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	return httpx.ClipTo(string(raw), 120)
}
