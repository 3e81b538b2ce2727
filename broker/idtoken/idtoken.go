// Package idtoken checks the enterprise ID token the broker holds: its
// claims always, and its signature through the IdP's JWKS whenever the IdP
// publishes OpenID Connect discovery (go-oidc, which follows key rotation).
package idtoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// Claims are what the broker keeps of an ID token besides the token itself.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Nonce, AuthTime and ACR are the OIDC Core §2 claims of that name;
	// zero when absent.
	Nonce    string
	AuthTime time.Time
	ACR      string
	// Verified reports whether the signature was checked against the
	// IdP's published keys.
	Verified bool
}

// ErrExpired reports an ID token past its exp.
var ErrExpired = errors.New("ID token has expired")

// ErrInvalid reports an ID token that does not parse or does not belong to
// the configured IdP and client.
var ErrInvalid = errors.New("invalid ID token")

// Algorithms allowed for ID token signatures: asymmetric only. "none" and
// HMAC are never accepted (an HMAC key could be the public key).
var Algorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// Verifier checks ID tokens of one IdP for one client. It is safe for
// concurrent use.
type Verifier struct {
	Issuer   string
	ClientID string
	// HTTP fetches discovery and keys; nil means http.DefaultClient.
	HTTP *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// Verify checks raw and returns its claims. The signature is verified when
// the IdP publishes discovery and keys; when it publishes none (some test
// IdPs), the claims are still checked and Claims.Verified is false.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	if c.Issuer != v.Issuer {
		return nil, fmt.Errorf("%w: issuer is %q, want %q", ErrInvalid, c.Issuer, v.Issuer)
	}
	if v.ClientID != "" && !slices.Contains(c.Audience, v.ClientID) {
		return nil, fmt.Errorf("%w: audience %q does not include the client id %q", ErrInvalid, c.Audience, v.ClientID)
	}
	if !v.now().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("%w (expired at %s)", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	ov, err := v.oidcVerifier(ctx)
	if err != nil {
		return nil, err
	}
	if ov == nil {
		return c, nil
	}
	if _, err := ov.Verify(ctx, raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.Verified = true
	return c, nil
}

// oidcVerifier returns the go-oidc verifier, or nil when the IdP has no
// discovery document. Network failures are errors: the token cannot be
// judged now.
func (v *Verifier) oidcVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	hc := v.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	// Only an answer decides "no discovery"; a failure to get one (a
	// dropped connection, a cut-off body, a 5xx) is an error, never a
	// reason to skip the signature check.
	published, err := discoveryPublished(ctx, hc, v.Issuer)
	if err != nil {
		return nil, err
	}
	if !published {
		return nil, nil
	}
	// go-oidc keeps this context for later key fetches, so it must not be
	// the caller's (which ends with the request).
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), hc)
	p, err := oidc.NewProvider(pctx, v.Issuer)
	if err != nil {
		return nil, fmt.Errorf("IdP discovery at %s: %w", v.Issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" || !keysPublished(ctx, hc, meta.JWKSURI) {
		// Discovery without usable keys: some test IdPs sign with keys
		// they never publish. The claims are still checked, and the IdP
		// verifies the token again at every exchange.
		return nil, nil
	}
	v.verifier = p.Verifier(&oidc.Config{ClientID: v.ClientID, Now: v.now, SupportedSigningAlgs: Algorithms, SkipClientIDCheck: v.ClientID == ""})
	return v.verifier, nil
}

// keysPublished reports whether the JWKS URL answers with a document. A
// network failure counts as published: verification then fails and says why.
func keysPublished(ctx context.Context, hc *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return true
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusGone
}

// maxDiscoveryBytes caps the discovery document read.
const maxDiscoveryBytes = 1 << 20

// discoveryPublished fetches the IdP's OpenID Connect discovery document
// (OIDC Discovery §4, the URL go-oidc reads) and reports whether there is
// one. Only the IdP's answer says "none": HTTP 404, 405 or 410, or a 200
// whose body is not JSON (a web page). Everything else that is not a
// complete JSON document is an error: a transport failure, a body cut off
// (unexpected EOF), a body that starts as JSON but does not parse, any
// other status.
func discoveryPublished(ctx context.Context, hc *http.Client, issuer string) (bool, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("IdP discovery at %s: %w", issuer, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("IdP discovery at %s: %w", issuer, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusGone:
		return false, nil
	default:
		return false, fmt.Errorf("IdP discovery at %s: HTTP %d", issuer, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return false, fmt.Errorf("IdP discovery at %s: reading the document: %w", issuer, err)
	}
	if len(body) > maxDiscoveryBytes {
		return false, fmt.Errorf("IdP discovery at %s: the document exceeds %d bytes", issuer, maxDiscoveryBytes)
	}
	if json.Valid(body) {
		return true, nil
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return false, fmt.Errorf("IdP discovery at %s: the document is not valid JSON (cut off?)", issuer)
	}
	return false, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Parse decodes raw without verifying its signature and returns its claims.
// It checks the shape: a compact JWS with an asymmetric algorithm and the
// iss, sub, aud and exp claims.
func Parse(raw string) (*Claims, error) {
	raw = strings.TrimSpace(raw)
	jws, err := jose.ParseSignedCompact(raw, toJOSE(Algorithms))
	if err != nil {
		return nil, fmt.Errorf("%w: not a signed JWT with an allowed algorithm: %v", ErrInvalid, err)
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
		// Nonce and ACR are read loosely: a wrongly typed nonce then
		// fails the nonce comparison instead of the parse.
		Nonce    any      `json:"nonce"`
		AuthTime *float64 `json:"auth_time"`
		ACR      any      `json:"acr"`
	}
	// RFC 7519 §4: claim names are unique; and they are case-sensitive.
	if err := strictjson.Decode(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, fmt.Errorf("%w: claims do not parse: %v", ErrInvalid, err)
	}
	if c.Iss == "" || c.Sub == "" || c.Exp == nil || len(c.Aud) == 0 {
		return nil, fmt.Errorf("%w: iss, sub, aud and exp are required (OIDC Core §2)", ErrInvalid)
	}
	var aud []string
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		aud = []string{one}
	} else if err := json.Unmarshal(c.Aud, &aud); err != nil {
		return nil, fmt.Errorf("%w: aud is neither a string nor an array of strings", ErrInvalid)
	}
	out := &Claims{Issuer: c.Iss, Subject: c.Sub, Audience: aud, ExpiresAt: time.Unix(int64(*c.Exp), 0)}
	if c.Iat != nil {
		out.IssuedAt = time.Unix(int64(*c.Iat), 0)
	}
	if c.AuthTime != nil {
		out.AuthTime = time.Unix(int64(*c.AuthTime), 0)
	}
	out.Nonce, _ = c.Nonce.(string)
	out.ACR, _ = c.ACR.(string)
	return out, nil
}

func toJOSE(algs []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}
