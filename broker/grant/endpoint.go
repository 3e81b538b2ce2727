package grant

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
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
	// Now is the clock for client assertions; nil means time.Now.
	Now func() time.Time
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

// post sends one token request and decodes a 200 answer. The received time
// is taken when the answer arrives so expiry never counts network time in
// the token's favour.
func (e *Endpoint) post(ctx context.Context, what string, form url.Values) (*tokenResponse, time.Time, error) {
	name := what + " at " + e.URL
	if _, err := httpx.CheckURL(e.URL); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	now := e.now()
	aud := e.Issuer
	if aud == "" {
		aud = e.URL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, nil)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := e.Auth.apply(req, form, aud, now); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: client authentication: %w", name, err)
	}
	body := form.Encode()
	req.Body = noopCloser{strings.NewReader(body)}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

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
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, decodeError(name, resp.StatusCode, raw)
	}
	var tr tokenResponse
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&tr); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	// x/oauth2 learned that some servers answer errors with 200
	// (RetrieveError); treat an error member as an error whatever the status.
	var er errorResponse
	if json.Unmarshal(raw, &er) == nil && er.Error != "" && tr.AccessToken == "" {
		return nil, time.Time{}, decodeError(name, resp.StatusCode, raw)
	}
	return &tr, received, nil
}

func decodeError(name string, status int, raw []byte) error {
	oe := &OAuthError{Endpoint: name, Status: status}
	var er errorResponse
	if err := json.Unmarshal(raw, &er); err == nil {
		oe.Code = httpx.Clip(er.Error)
		oe.Description = httpx.Clip(er.Description)
		oe.URI = httpx.Clip(er.URI)
		oe.ACRValues = httpx.Clip(er.ACRValues)
		switch v := er.MaxAge.(type) {
		case float64:
			oe.MaxAge = fmt.Sprintf("%d", int64(v))
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

func splitScope(s string) []string {
	return strings.Fields(s)
}

type noopCloser struct{ *strings.Reader }

func (noopCloser) Close() error { return nil }
