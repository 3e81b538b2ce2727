package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// Endpoint is one token endpoint and the client's credentials there.
// It is safe for concurrent use; its fields must not change after first use.
type Endpoint struct {
	// URL is the token endpoint (https, or http on loopback).
	URL string
	// Issuer is the server's issuer identifier; it is the audience of
	// private_key_jwt client assertions. Empty means URL.
	Issuer string
	Auth   ClientAuth
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	// Its redirect policy is replaced: token endpoints never redirect.
	HTTP *http.Client
	// Now is the clock for client assertions and DPoP proofs; nil means
	// time.Now.
	Now func() time.Time
	// DPoP, when set, puts a DPoP proof on every request (RFC 9449 §5).
	DPoP *DPoP
	// Around, when set, wraps every request to the endpoint: the broker
	// passes each through its rate limit (package upstream), which may
	// delay or refuse it and reads the answer. send makes the request
	// (client assertion included, so it is fresh after a wait) and
	// returns its error; Around returns that error or its own.
	Around func(ctx context.Context, send func(context.Context) error) error
}

// tokenResponse is the union of the members both grants may return. Typed
// fields make a wrongly typed answer fail to decode instead of being
// half-read.
type tokenResponse struct {
	AccessToken     string       `json:"access_token"`
	TokenType       string       `json:"token_type"`
	IssuedTokenType string       `json:"issued_token_type"`
	ExpiresIn       *json.Number `json:"expires_in"`
	Scope           string       `json:"scope"`
	RefreshToken    string       `json:"refresh_token"`
	IDToken         string       `json:"id_token"`
}

type errorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
	MaxAge      any    `json:"max_age"`
	ACRValues   string `json:"acr_values"`
}

// post sends one token request and decodes its answer, whose received
// time it returns.
func (e *Endpoint) post(ctx context.Context, what string, form url.Values) (*tokenResponse, time.Time, error) {
	name := what + " at " + e.URL
	raw, received, err := e.postForm(ctx, name, form, "access_token")
	if err != nil {
		return nil, time.Time{}, err
	}
	var tr tokenResponse
	if err := strictjson.Decode(raw, &tr); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	if err := tr.check(); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	return &tr, received, nil
}

// check applies the syntax of RFC 6749 Appendix A to the members that are
// used as they are: tokens are 1*VSCHAR (%x20-7E; A.12, A.17) because they
// go into headers and forms, scope is a list of scope-tokens (§3.3). The
// values are never quoted: they are secrets.
func (tr *tokenResponse) check() error {
	for _, m := range []struct{ name, v string }{{"access_token", tr.AccessToken}, {"refresh_token", tr.RefreshToken}} {
		if !vschars(m.v) {
			return fmt.Errorf("%s has characters outside printable ASCII (RFC 6749 Appendix A)", m.name)
		}
	}
	if _, ok := httpx.SplitScope(tr.Scope); !ok {
		return fmt.Errorf("scope %q is not a space-separated list of scope-tokens (RFC 6749 §3.3)", httpx.Clip(tr.Scope))
	}
	return nil
}

// vschars reports whether s is empty or only VSCHAR (RFC 6749 Appendix A).
func vschars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// postForm sends one authenticated form POST and returns the body of its
// 200 answer. Every call of this package goes through it, so all share its
// rules: redirects are refused (the request carries client credentials),
// at most httpx.MaxBody is read, and the received time is taken when the
// answer arrives so that an expiry never counts network time in the
// token's favour. Any other status is an error answer (RFC 6749 §5.2). A
// 200 whose body has an "error" member and no success member is one too:
// some servers answer errors with 200 (x/oauth2 learned this as
// RetrieveError). An empty success skips that check.
func (e *Endpoint) postForm(ctx context.Context, name string, form url.Values, success string) ([]byte, time.Time, error) {
	raw, received, err := e.postOnce(ctx, name, form, success, "")
	var nc *nonceChallenge
	if errors.As(err, &nc) {
		// RFC 9449 §8: the server wants a proof with its nonce. It checks
		// the proof before the grant, so it has consumed nothing: the very
		// same request (the same ID-JAG, never a second one minted for it)
		// goes once more with a new proof, and never a third time.
		raw, received, err = e.postOnce(ctx, name, form, success, nc.nonce)
		if errors.As(err, &nc) {
			err = nc.err
		}
	}
	return raw, received, err
}

// postOnce is sendOnce through Around, when set: every request, a nonce
// retry too, passes the broker's rate limit.
func (e *Endpoint) postOnce(ctx context.Context, name string, form url.Values, success, nonce string) ([]byte, time.Time, error) {
	if e.Around == nil {
		return e.sendOnce(ctx, name, form, success, nonce)
	}
	var raw []byte
	var received time.Time
	err := e.Around(ctx, func(ctx context.Context) (err error) {
		raw, received, err = e.sendOnce(ctx, name, form, success, nonce)
		return err
	})
	return raw, received, err
}

// sendOnce is one attempt of postForm, its DPoP proof carrying nonce
// (empty: the nonce remembered for the server); the client assertion and
// the proof are made here, so they are fresh after a wait at the gate.
func (e *Endpoint) sendOnce(ctx context.Context, name string, form url.Values, success, nonce string) ([]byte, time.Time, error) {
	req, err := e.formRequest(ctx, form)
	if err == nil {
		err = e.prove(req, nonce)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	resp, err := e.client().Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // the URL is already in name; keep the cause
		}
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	received := e.now()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, time.Time{}, fmt.Errorf("%s: HTTP %d: %w", name, resp.StatusCode, ErrRedirect)
	}
	raw, err := httpx.ReadBody(resp.Body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: read response: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK || (success != "" && errorWithout(raw, success)) {
		err := withRetry(decodeError(name, resp.StatusCode, raw), resp.Header, received)
		return nil, time.Time{}, e.observe(resp.StatusCode, resp.Header, raw, err)
	}
	return raw, received, e.observe(resp.StatusCode, resp.Header, raw, nil)
}

// formRequest builds the POST of form with the client's credentials.
func (e *Endpoint) formRequest(ctx context.Context, form url.Values) (*http.Request, error) {
	if _, err := httpx.CheckURL(e.URL); err != nil {
		return nil, err
	}
	aud := e.Issuer
	if aud == "" {
		aud = e.URL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Auth.apply(req, form, aud, e.now()); err != nil {
		return nil, fmt.Errorf("client authentication: %w", err)
	}
	// The body is encoded only now: client_secret_post and private_key_jwt
	// add their parameters to form.
	body := form.Encode()
	req.Body = noopCloser{strings.NewReader(body)}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// errorWithout reports a JSON object with a non-empty "error" string and
// no non-empty success member.
func errorWithout(raw []byte, success string) bool {
	m, err := strictjson.Members(raw)
	if err != nil {
		return false
	}
	var code string
	if json.Unmarshal(m["error"], &code) != nil || code == "" {
		return false
	}
	v, ok := m[success]
	return !ok || string(v) == `""` || string(v) == "null"
}

func decodeError(name string, status int, raw []byte) error {
	oe := &OAuthError{Endpoint: name, Status: status}
	var er errorResponse
	if err := strictjson.Decode(raw, &er); err == nil {
		oe.Code = httpx.Clip(er.Error)
		oe.Description = httpx.Clip(er.Description)
		oe.URI = httpx.Clip(er.URI)
		oe.ACRValues = httpx.Clip(er.ACRValues)
		switch v := er.MaxAge.(type) {
		case float64:
			// RFC 9470 §3: a number of seconds; anything else is dropped.
			if v >= 0 && v <= math.MaxInt32 && v == math.Trunc(v) {
				oe.MaxAge = fmt.Sprintf("%d", int64(v))
			}
		case string:
			oe.MaxAge = httpx.Clip(v)
		}
	}
	return oe
}

func (e *Endpoint) client() *http.Client {
	base := e.HTTP
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (e *Endpoint) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// maxLifetime bounds expires_in so a huge value cannot overflow a Duration.
const maxLifetime = 10 * 365 * 24 * time.Hour

// expiresIn converts expires_in, which must be a positive number of seconds
// when present (RFC 6749 §5.1). Fractions round up, so 0.5 is one second
// and never zero.
func expiresIn(n *json.Number) (time.Duration, bool, error) {
	if n == nil {
		return 0, false, nil
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || math.IsNaN(f) {
		return 0, false, fmt.Errorf("%w: expires_in %q is not a positive number of seconds", ErrMalformed, httpx.Clip(n.String()))
	}
	if f > maxLifetime.Seconds() {
		return maxLifetime, true, nil
	}
	return time.Duration(math.Ceil(f)) * time.Second, true, nil
}

// splitScope splits a scope member that check has already validated.
func splitScope(s string) []string {
	f, _ := httpx.SplitScope(s)
	return f
}

type noopCloser struct{ *strings.Reader }

func (noopCloser) Close() error { return nil }
