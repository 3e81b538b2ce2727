package idtoken

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// LoginCheck is what a sign-in asked for and its ID token must show.
type LoginCheck struct {
	// Nonce is the nonce sent in the authorization request; empty for
	// grants without one (device flow, refresh).
	Nonce string
	// MaxAge is the max_age sent, in seconds as on the wire; empty when
	// none was sent.
	MaxAge string
	// Subject, when set, must equal sub: a refreshed ID token must name
	// the same person (OIDC Core §12.2).
	Subject string
}

// ErrNonce reports an ID token whose nonce is not the one the sign-in
// sent: a replayed or injected token (OIDC Core §3.1.3.7 item 11).
var ErrNonce = errors.New("ID token nonce does not match the sign-in request")

// authTimeSkew tolerates clock differences on auth_time.
const authTimeSkew = 2 * time.Minute

// VerifyLogin verifies raw as [Verifier.Verify] does and then checks what
// the sign-in asked for: the nonce, auth_time when max_age was sent (OIDC
// Core §3.1.2.1 makes it required then), and the subject.
func (v *Verifier) VerifyLogin(ctx context.Context, raw string, want LoginCheck) (*Claims, error) {
	c, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if want.Nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(want.Nonce)) != 1 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, ErrNonce)
	}
	if want.Subject != "" && c.Subject != want.Subject {
		return nil, fmt.Errorf("%w: the refreshed ID token names another subject", ErrInvalid)
	}
	if want.MaxAge != "" {
		secs, err := strconv.ParseInt(want.MaxAge, 10, 64)
		if err == nil {
			if c.AuthTime.IsZero() {
				return nil, fmt.Errorf("%w: max_age was requested but the ID token has no auth_time", ErrInvalid)
			}
			if v.now().Sub(c.AuthTime) > time.Duration(secs)*time.Second+authTimeSkew {
				return nil, fmt.Errorf("%w: the IdP did not authenticate the user within max_age=%s", ErrInvalid, want.MaxAge)
			}
		}
	}
	return c, nil
}
