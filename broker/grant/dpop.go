package grant

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// DPoP makes an [Endpoint]'s requests carry RFC 9449 proofs of Key: a new
// proof for every request, with the nonce the server last sent (RFC 9449
// §8). An endpoint without it sends none.
type DPoP struct {
	// Key signs the proofs. Required.
	Key *dpop.Key
	// Nonces remembers the server's DPoP-Nonce between requests, shared by
	// every endpoint of a broker; nil remembers nothing beyond one retry.
	Nonces *dpop.Nonces
}

// ErrKeyBinding reports an ID-JAG that is not bound to the DPoP key the
// exchange proved (cnf.jkt missing or naming another key): a downgrade
// or a mix-up (JAG DPoP section; docs/protocol.md §6 item 9). It is
// discarded and never sent on.
var ErrKeyBinding = errors.New("ID-JAG is not bound to the DPoP key")

// TokenTypeDPoP is the token_type of a DPoP-bound access token (RFC 9449 §5).
const TokenTypeDPoP = "DPoP"

// nonceChallenge is a use_dpop_nonce answer (RFC 9449 §8): the server
// wants the request again with a proof carrying nonce.
type nonceChallenge struct {
	nonce string
	err   error // the *OAuthError of the answer
}

func (c *nonceChallenge) Error() string { return c.err.Error() }
func (c *nonceChallenge) Unwrap() error { return c.err }

// prove sets the request's DPoP header: a proof for its method and URL,
// with nonce, or the nonce remembered for the server when nonce is empty.
func (e *Endpoint) prove(req *http.Request, nonce string) error {
	if e.DPoP == nil {
		return nil
	}
	if e.DPoP.Key == nil {
		return errors.New("DPoP is set without a key")
	}
	if nonce == "" && e.DPoP.Nonces != nil {
		nonce = e.DPoP.Nonces.Get(e.URL)
	}
	proof, err := e.DPoP.Key.Proof(clockFunc(e.now), dpop.Request{Method: req.Method, URL: e.URL, Nonce: nonce})
	if err != nil {
		return err
	}
	req.Header.Set("DPoP", proof)
	return nil
}

// observe remembers the nonce of any answer (RFC 9449 §8.2: a server may
// send a new one with any response) and recognises a nonce challenge.
func (e *Endpoint) observe(status int, h http.Header, raw []byte, err error) error {
	if e.DPoP == nil {
		return err
	}
	if e.DPoP.Nonces != nil {
		e.DPoP.Nonces.Observe(e.URL, h)
	}
	if nonce, ok := dpop.TokenNonceChallenge(status, h, raw); ok && err != nil {
		return &nonceChallenge{nonce: nonce, err: err}
	}
	return err
}

type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// checkKeyBinding applies the client's check of the JAG DPoP section to
// the claims of an ID-JAG minted after a proof of jkt's key: cnf must be
// {"jkt": jkt} (RFC 7800 §3.1; other confirmation members may be there
// too). An encrypted ID-JAG (EMA §7.8) cannot be read and is passed on;
// the authorization server still refuses it without a proof of the key it
// is bound to.
func checkKeyBinding(c *jagClaims, jkt string) error {
	if c.exp.IsZero() {
		return nil // a JWE: no readable claims
	}
	if len(c.Cnf) == 0 || string(c.Cnf) == "null" {
		return fmt.Errorf("%w: the exchange carried a DPoP proof but the ID-JAG has no cnf.jkt (a downgrade)", ErrKeyBinding)
	}
	var cnf struct {
		JKT *string `json:"jkt"`
	}
	switch err := strictjson.Decode(c.Cnf, &cnf); {
	case err != nil:
		return fmt.Errorf("%w: its cnf claim is not a JSON object: %v", ErrKeyBinding, err)
	case cnf.JKT == nil:
		return fmt.Errorf("%w: the exchange carried a DPoP proof but the ID-JAG's cnf has no jkt (a downgrade)", ErrKeyBinding)
	case *cnf.JKT != jkt:
		return fmt.Errorf("%w: its cnf.jkt names another key than the one the exchange proved (a mix-up)", ErrKeyBinding)
	}
	return nil
}

// accessTokenType reads token_type (RFC 6749 §7.1: case-insensitive): Bearer,
// or DPoP when the request carried a proof (RFC 9449 §5). A DPoP token
// without a proof of ours would be bound to some other key.
func accessTokenType(tokenType string, proved bool) (string, error) {
	switch {
	case strings.EqualFold(tokenType, "Bearer"):
		return "Bearer", nil
	case strings.EqualFold(tokenType, TokenTypeDPoP) && proved:
		return TokenTypeDPoP, nil
	case strings.EqualFold(tokenType, TokenTypeDPoP):
		return "", fmt.Errorf("%w: token_type is DPoP but the request carried no DPoP proof", ErrMalformed)
	}
	return "", fmt.Errorf("%w: token_type is %q, want Bearer or DPoP", ErrMalformed, tokenType)
}
