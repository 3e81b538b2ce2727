package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// GrantJWTBearer is the RFC 7523 grant type an EMA authorization server must offer.
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// GrantProfileIDJAG advertises the ID-JAG processing rules (JAG §7.2).
const GrantProfileIDJAG = "urn:ietf:params:oauth:grant-profile:id-jag"

// AuthServer is validated metadata of an authorization server.
type AuthServer struct {
	// Issuer equals, byte for byte, the issuer the metadata was fetched for.
	Issuer                string
	TokenEndpoint         string
	JWKSURI               string
	RevocationEndpoint    string
	GrantTypes            []string
	GrantProfiles         []string
	TokenEndpointAuthMeth []string
	MetadataURL           string
	// AuthorizationEndpoint and DeviceAuthorizationEndpoint serve the
	// enterprise sign-in (RFC 8414 §2, RFC 8628 §4); empty when absent.
	AuthorizationEndpoint       string
	DeviceAuthorizationEndpoint string
	// SubjectTokenTypes lists the RFC 8693 subject token types the server
	// says it accepts. No registered member carries this; xaad reads
	// subject_token_types_supported.
	SubjectTokenTypes []string
	// DPoPAlgs is dpop_signing_alg_values_supported (RFC 9449 §5.1): the
	// proof algorithms the server accepts; empty when it does not
	// advertise DPoP.
	DPoPAlgs []string
	// PromptValues is prompt_values_supported, the prompt values the IdP
	// honours (Initiating User Registration via OpenID Connect 1.0 §4).
	PromptValues []string
}

type asDoc struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	AuthorizationGrantProfiles        []string `json:"authorization_grant_profiles_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	SubjectTokenTypesSupported        []string `json:"subject_token_types_supported"`
	DPoPSigningAlgValuesSupported     []string `json:"dpop_signing_alg_values_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
}

// AuthServer discovers the metadata of the authorization server issuer,
// trying the URLs in MCP order, and validates it. A document whose issuer
// differs is a security abort (RFC 8414 §3.3, JAG §9.4): the search stops
// there, before any token is minted for it.
func (c *Client) AuthServer(ctx context.Context, issuer string) (*AuthServer, error) {
	if _, err := httpx.CheckURL(issuer); err != nil {
		return nil, fmt.Errorf("%w: authorization server issuer: %v", ErrInvalid, err)
	}
	urls, err := ASMetadataURLs(issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	doc, mu, err := c.firstDocument(ctx, urls)
	if err != nil {
		return nil, fmt.Errorf("authorization server metadata of %s: %w", issuer, err)
	}
	return validateAS(*doc, issuer, mu, true)
}

// firstDocument fetches the first of urls that exists (4xx answers mean
// "not here, try the next"); any other failure ends the search.
func (c *Client) firstDocument(ctx context.Context, urls []string) (*asDoc, string, error) {
	var notFound []string
	for _, mu := range urls {
		var doc asDoc
		err := c.getJSON(ctx, mu, &doc)
		var se *StatusError
		if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 {
			notFound = append(notFound, fmt.Sprintf("%s (HTTP %d)", mu, se.Status))
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return &doc, mu, nil
	}
	return nil, "", fmt.Errorf("%w: no metadata found; tried %s", ErrInvalid, strings.Join(notFound, ", "))
}

// IdP discovers the metadata of the enterprise IdP: OpenID Connect
// discovery first, then RFC 8414, with the same issuer equality rule. The
// IdP need not offer jwt-bearer; it must have a token endpoint.
func (c *Client) IdP(ctx context.Context, issuer string) (*AuthServer, error) {
	urls, err := ASMetadataURLs(issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: IdP issuer: %v", ErrInvalid, err)
	}
	// For an IdP, OIDC discovery is the primary document.
	slices.SortStableFunc(urls, func(a, b string) int {
		ao, bo := strings.Contains(a, "openid-configuration"), strings.Contains(b, "openid-configuration")
		switch {
		case ao && !bo:
			return -1
		case bo && !ao:
			return 1
		}
		return 0
	})
	doc, mu, err := c.firstDocument(ctx, urls)
	if err != nil {
		return nil, fmt.Errorf("IdP metadata of %s (set idp.token_endpoint if it publishes none): %w", issuer, err)
	}
	return validateAS(*doc, issuer, mu, false)
}

func validateAS(doc asDoc, issuer, metadataURL string, needJWTBearer bool) (*AuthServer, error) {
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("%w: metadata at %s names issuer %q, not %q (RFC 8414 §3.3); refusing it", ErrInvalid, metadataURL, httpx.Clip(doc.Issuer), issuer)
	}
	if _, err := httpx.CheckURL(doc.TokenEndpoint); err != nil {
		return nil, fmt.Errorf("%w: metadata at %s: token_endpoint: %v", ErrInvalid, metadataURL, err)
	}
	if needJWTBearer && !slices.Contains(doc.GrantTypesSupported, GrantJWTBearer) {
		return nil, fmt.Errorf("%w: authorization server %s does not offer the jwt-bearer grant (grant_types_supported lacks %s), so it cannot take an ID-JAG", ErrInvalid, issuer, GrantJWTBearer)
	}
	for _, opt := range []struct{ name, v string }{{"jwks_uri", doc.JWKSURI}, {"revocation_endpoint", doc.RevocationEndpoint},
		{"authorization_endpoint", doc.AuthorizationEndpoint}, {"device_authorization_endpoint", doc.DeviceAuthorizationEndpoint}} {
		if opt.v == "" {
			continue
		}
		if _, err := httpx.CheckURL(opt.v); err != nil {
			return nil, fmt.Errorf("%w: metadata at %s: %s: %v", ErrInvalid, metadataURL, opt.name, err)
		}
	}
	return &AuthServer{
		Issuer:                doc.Issuer,
		TokenEndpoint:         doc.TokenEndpoint,
		JWKSURI:               doc.JWKSURI,
		RevocationEndpoint:    doc.RevocationEndpoint,
		GrantTypes:            doc.GrantTypesSupported,
		GrantProfiles:         doc.AuthorizationGrantProfiles,
		TokenEndpointAuthMeth: doc.TokenEndpointAuthMethodsSupported,
		MetadataURL:           metadataURL,

		AuthorizationEndpoint:       doc.AuthorizationEndpoint,
		DeviceAuthorizationEndpoint: doc.DeviceAuthorizationEndpoint,
		SubjectTokenTypes:           doc.SubjectTokenTypesSupported,
		DPoPAlgs:                    doc.DPoPSigningAlgValuesSupported,
		PromptValues:                doc.PromptValuesSupported,
	}, nil
}

// ASMetadataURLs returns the metadata URLs of issuer in the order of the MCP
// authorization specification: for an issuer with a path, RFC 8414 path
// insertion, OIDC path insertion, then OIDC path appending; without a path,
// RFC 8414 then OIDC.
func ASMetadataURLs(issuer string) ([]string, error) {
	u, err := httpx.CheckURL(issuer)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("issuer %q has a query (RFC 8414 §2)", issuer)
	}
	origin := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path == "" {
		return []string{
			origin + "/.well-known/oauth-authorization-server",
			origin + "/.well-known/openid-configuration",
		}, nil
	}
	return []string{
		origin + "/.well-known/oauth-authorization-server" + path,
		origin + "/.well-known/openid-configuration" + path,
		origin + path + "/.well-known/openid-configuration",
	}, nil
}
