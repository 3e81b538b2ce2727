package dpop

import (
	"net/http"

	"github.com/xaad-dev/xaad/broker/internal/strictjson"
	"github.com/xaad-dev/xaad/internal/wwwauth"
)

// ErrorUseNonce is the error code with which a server asks for a proof
// carrying its nonce (RFC 9449 §8, §9).
const ErrorUseNonce = "use_dpop_nonce"

// ErrorInvalidProof is the error code for a proof a server refused (RFC
// 9449 §5, §7.1).
const ErrorInvalidProof = "invalid_dpop_proof"

// TokenNonceChallenge reports whether a token endpoint's answer asks for a
// nonce: status 400, an RFC 6749 §5.2 error body with error
// "use_dpop_nonce", and a valid DPoP-Nonce header (RFC 9449 §8). It returns
// that nonce; the client retries the same request once with a new proof
// carrying it. body is the response body, already read under the caller's
// size limit.
func TokenNonceChallenge(status int, h http.Header, body []byte) (string, bool) {
	if status != http.StatusBadRequest {
		return "", false
	}
	var e struct {
		Error string `json:"error"`
	}
	if strictjson.Decode(body, &e) != nil || e.Error != ErrorUseNonce {
		return "", false
	}
	return ParseNonce(h)
}

// ResourceNonceChallenge reports whether a resource server's answer asks
// for a nonce: status 401, a WWW-Authenticate challenge with scheme DPoP and
// error="use_dpop_nonce", and a valid DPoP-Nonce header (RFC 9449 §9). It
// returns that nonce; the client retries with a new proof carrying it, and
// must not treat the 401 as a rejected token.
func ResourceNonceChallenge(status int, h http.Header) (string, bool) {
	if status != http.StatusUnauthorized || !hasDPoPError(h, ErrorUseNonce) {
		return "", false
	}
	return ParseNonce(h)
}

// hasDPoPError reports whether any WWW-Authenticate challenge is a DPoP
// challenge with the given error. The header is parsed by RFC 9110's
// grammar (internal/wwwauth), each line on its own, so one malformed
// challenge does not hide a valid one in another line, and a challenge
// that repeats a parameter counts for nothing.
func hasDPoPError(h http.Header, code string) bool {
	for _, ch := range wwwauth.Parse(h.Values("WWW-Authenticate")) {
		// wwwauth lowercases schemes: RFC 9110 §11.1 makes them
		// case-insensitive.
		if ch.Scheme == "dpop" && ch.Params["error"] == code {
			return true
		}
	}
	return false
}
