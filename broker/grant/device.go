package grant

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// DeviceAuth is an RFC 8628 §3.2 device authorization response.
type DeviceAuth struct {
	// DeviceCode is secret: it is polled with and never shown.
	DeviceCode              string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	// Interval is the polling interval; 5 s when the IdP names none
	// (RFC 8628 §3.2).
	Interval time.Duration
}

type deviceResponse struct {
	DeviceCode              string       `json:"device_code"`
	UserCode                string       `json:"user_code"`
	VerificationURI         string       `json:"verification_uri"`
	VerificationURIComplete string       `json:"verification_uri_complete"`
	ExpiresIn               *json.Number `json:"expires_in"`
	Interval                *json.Number `json:"interval"`
}

// DeviceAuthorization starts an RFC 8628 device authorization at ep, whose
// URL is the IdP's device_authorization_endpoint.
func DeviceAuthorization(ctx context.Context, ep *Endpoint, scopes []string) (*DeviceAuth, error) {
	name := "device authorization at " + ep.URL
	form := url.Values{"scope": {strings.Join(scopes, " ")}}
	if ep.Auth.method() == ClientSecretBasic || ep.Auth.method() == PrivateKeyJWT {
		// RFC 8628 §3.1 names client_id a required parameter; some IdPs
		// insist on it even beside other client authentication.
		form.Set("client_id", ep.Auth.ClientID)
	}
	raw, received, err := ep.postForm(ctx, name, form, "device_code")
	if err != nil {
		return nil, err
	}
	var dr deviceResponse
	if err := strictjson.Decode(raw, &dr); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrMalformed, err)
	}
	if dr.DeviceCode == "" || dr.UserCode == "" || dr.VerificationURI == "" {
		return nil, fmt.Errorf("%s: %w: device_code, user_code and verification_uri are required (RFC 8628 §3.2)", name, ErrMalformed)
	}
	for _, u := range []string{dr.VerificationURI, dr.VerificationURIComplete} {
		if u == "" {
			continue
		}
		if _, err := httpx.CheckURL(u); err != nil {
			return nil, fmt.Errorf("%s: %w: verification URI: %v", name, ErrMalformed, err)
		}
	}
	ttl, ok, err := expiresIn(dr.ExpiresIn)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s: %w: expires_in is required and must be positive (RFC 8628 §3.2)", name, ErrMalformed)
	}
	da := &DeviceAuth{
		DeviceCode: dr.DeviceCode, UserCode: httpx.Clip(dr.UserCode),
		VerificationURI: dr.VerificationURI, VerificationURIComplete: dr.VerificationURIComplete,
		ExpiresAt: received.Add(ttl), Interval: 5 * time.Second,
	}
	if dr.Interval != nil {
		iv, err := dr.Interval.Int64()
		if err != nil || iv < 0 {
			return nil, fmt.Errorf("%s: %w: interval %q is not a number of seconds", name, ErrMalformed, dr.Interval.String())
		}
		da.Interval = time.Duration(iv) * time.Second
	}
	return da, nil
}
