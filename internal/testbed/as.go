package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// AS is the MCP server's authorization server: RFC 8414 (or OIDC) metadata
// advertising the ID-JAG grant profile, a JWKS for its access tokens, and a
// token endpoint for the RFC 7523 jwt-bearer grant with every check of
// docs/protocol.md §3.3. It trusts exactly the testbed IdP.
type AS struct {
	tb     *Testbed
	base   string // scheme://host:port
	path   string // issuer path without a trailing slash, "" or "/tenant1"
	issuer string
	keys   *keySet
	auth   *clientAuth
	replay *replayStore
	// trusted maps each trusted IdP issuer to its keys, fetched from its
	// jwks_uri (EMA §7.4.1: trust comes from configuration, never from the
	// token).
	trusted map[string]*remoteKeys

	// role is which of the testbed's authorization servers this is.
	role asRole

	mu     sync.Mutex
	tweaks ASTweaks
}

// asRole is what tells the testbed's two authorization servers apart: the
// client registered there and the names of their endpoints.
type asRole struct {
	client                  Client
	metadata, jwks, tokenEP Endpoint
	path                    string // issuer path
	trailingSlash           bool
	kidPrefix               string
}

func firstAS(o Options) asRole {
	return asRole{client: o.ASClient, metadata: EndpointASMetadata, jwks: EndpointASJWKS, tokenEP: EndpointASToken,
		path: o.ASIssuerPath, trailingSlash: o.ASIssuerTrailingSlash, kidPrefix: "as"}
}

// secondAS has a plain issuer (its own origin).
func secondAS(o Options) asRole {
	return asRole{client: *o.SecondAS, metadata: EndpointAS2Metadata, jwks: EndpointAS2JWKS, tokenEP: EndpointAS2Token, kidPrefix: "as2"}
}

// ASTweaks make the AS misbehave so clients' defences can be tested
// (docs/protocol.md §6 items 4, 5). The zero value is correct behaviour.
type ASTweaks struct {
	// MetadataIssuer replaces the issuer in the metadata document (mix-up).
	MetadataIssuer string
	// OmitJWTBearer drops jwt-bearer from grant_types_supported.
	OmitJWTBearer bool
	// OmitGrantProfile drops authorization_grant_profiles_supported.
	OmitGrantProfile bool
	// AccessTokenLifetime replaces Options.AccessTokenLifetime.
	AccessTokenLifetime time.Duration
	// RefreshTokenInResponse adds an (unusable) refresh_token to the
	// jwt-bearer response, which JAG §4.4.3 says SHOULD NOT happen.
	RefreshTokenInResponse bool
	// BearerDespiteProof issues an unbound Bearer token even when the
	// request carried a valid DPoP proof (a silent downgrade).
	BearerDespiteProof bool
}

func newAS(tb *Testbed, base string, role asRole) (*AS, error) {
	keys, err := newKeySet(role.kidPrefix)
	if err != nil {
		return nil, err
	}
	a := &AS{tb: tb, base: base, path: role.path, keys: keys, replay: newReplayStore(), role: role}
	a.issuer = base + a.path
	if role.trailingSlash {
		a.issuer += "/"
	}
	a.auth = &clientAuth{
		tb:        tb,
		clients:   map[string]Client{role.client.ID: role.client},
		audiences: []string{a.issuer, a.TokenEndpoint()},
		replay:    newReplayStore(),
	}
	a.trusted = map[string]*remoteKeys{
		tb.IdP.Issuer(): {jwksURI: tb.IdP.JWKSURL(), client: tb.HTTPClient()},
	}
	return a, nil
}

func (a *AS) handler() http.Handler {
	mux := http.NewServeMux()
	meta := a.tb.endpoint(a.role.metadata, http.HandlerFunc(a.serveMetadata))
	for _, p := range a.metadataPaths() {
		mux.Handle(p, meta)
	}
	mux.Handle(a.path+"/jwks", a.tb.endpoint(a.role.jwks, http.HandlerFunc(a.keys.serveJWKS)))
	mux.Handle(a.path+"/token", a.tb.endpoint(a.role.tokenEP, http.HandlerFunc(a.serveToken)))
	return mux
}

// metadataPaths are where the metadata lives for the configured style.
// RFC 8414 §3.1: the well-known segment goes between host and path, after
// removing a terminating "/"; OIDC Discovery §4 appends it to the issuer,
// and MCP clients also try the path-insertion form (docs/protocol.md §2 step 3).
func (a *AS) metadataPaths() []string {
	if a.tb.opts.ASMetadata == MetadataOIDC {
		ps := []string{"/.well-known/openid-configuration" + a.path}
		if a.path != "" {
			ps = append(ps, a.path+"/.well-known/openid-configuration")
		}
		return ps
	}
	return []string{"/.well-known/oauth-authorization-server" + a.path}
}

// Issuer returns the AS issuer, exactly as published in its metadata.
func (a *AS) Issuer() string { return a.issuer }

// TokenEndpoint returns the token endpoint URL.
func (a *AS) TokenEndpoint() string { return a.base + a.path + "/token" }

// JWKSURL returns the jwks_uri.
func (a *AS) JWKSURL() string { return a.base + a.path + "/jwks" }

// MetadataURL returns the URL of the metadata document: the RFC 8414 one,
// or with [MetadataOIDC] the path-insertion OIDC one.
func (a *AS) MetadataURL() string { return a.base + a.metadataPaths()[0] }

// RotateKey rotates the access-token signing key, as [IdP.RotateKey].
func (a *AS) RotateKey(keepOld bool) (string, error) { return a.keys.rotate(keepOld) }

// SetTweaks replaces the AS's misbehaviour settings.
func (a *AS) SetTweaks(t ASTweaks) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tweaks = t
}

func (a *AS) getTweaks() ASTweaks {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tweaks
}

func (a *AS) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tw := a.getTweaks()
	md := map[string]any{
		"issuer":                                a.issuer,
		"token_endpoint":                        a.TokenEndpoint(),
		"jwks_uri":                              a.JWKSURL(),
		"token_endpoint_auth_methods_supported": allAuthMethods,
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256", "RS256"},
		"scopes_supported": a.tb.opts.Scopes,
		// REQUIRED by RFC 8414 §2. This AS has no authorization endpoint
		// (it only takes the jwt-bearer grant), so it supports no
		// response_type at all.
		"response_types_supported": []string{},
	}
	a.tb.dpopMetadata(md)
	if tw.MetadataIssuer != "" {
		md["issuer"] = tw.MetadataIssuer
	}
	if !tw.OmitJWTBearer {
		md["grant_types_supported"] = []string{grantJWTBearer}
	} else {
		md["grant_types_supported"] = []string{"authorization_code"}
	}
	if !tw.OmitGrantProfile {
		// JAG §7.2 / EMA §6: advertises the processing rules, never which
		// issuers are trusted (JAG-ED §9.5).
		md["authorization_grant_profiles_supported"] = []string{profileIDJAG}
	}
	writeJSON(w, http.StatusOK, md)
}

// SignJWT signs arbitrary claims with the AS's current key and the given
// typ header, to build hostile access tokens for MCP server tests.
func (a *AS) SignJWT(typ string, claims map[string]any) (string, error) {
	return sign(a.keys.current(), typ, claims)
}

// AccessTokenClaims returns the claims of an access token the AS would
// issue now for the test user with all scopes; edit and sign with
// [AS.SignJWT] using typ "at+jwt".
func (a *AS) AccessTokenClaims() map[string]any {
	now := a.tb.Now()
	return map[string]any{
		"iss":       a.issuer,
		"sub":       a.tb.opts.Subject,
		"aud":       a.tb.MCP.URL(),
		"client_id": a.role.client.ID,
		"scope":     joinScopes(a.tb.opts.Scopes),
		"jti":       randomID(),
		"iat":       now.Unix(),
		"exp":       now.Add(a.tb.opts.AccessTokenLifetime).Unix(),
	}
}

// remoteKeys caches a trusted issuer's JWKS and refetches it when a token
// names an unknown kid, which is how a rotation shows up.
type remoteKeys struct {
	jwksURI string
	client  *http.Client

	mu  sync.Mutex
	set jose.JSONWebKeySet
}

func (rk *remoteKeys) cached() jose.JSONWebKeySet {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	return rk.set
}

func (rk *remoteKeys) refresh(ctx context.Context) (jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rk.jwksURI, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	resp, err := rk.client.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRequestBody)).Decode(&set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("decode JWKS: %w", err)
	}
	// Only signature keys with an allow-listed algorithm are kept.
	set.Keys = slices.DeleteFunc(set.Keys, func(k jose.JSONWebKey) bool {
		return !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") ||
			(k.Algorithm != "" && !slices.Contains(idjagAlgs, jose.SignatureAlgorithm(k.Algorithm)))
	})
	rk.mu.Lock()
	rk.set = set
	rk.mu.Unlock()
	return set, nil
}

// asClientID is the client_id the IdP puts in an ID-JAG for the
// authorization server aud: the client's registration there (docs/protocol.md
// §6 item 16), which differs per server.
func (tb *Testbed) asClientID(aud string) string {
	if tb.AS2 != nil && aud == tb.AS2.Issuer() {
		return tb.AS2.role.client.ID
	}
	return tb.opts.ASClient.ID
}

// currentAS is the authorization server the MCP server names and whose
// tokens it takes: the second one once it has moved there.
func (m *MCPServer) currentAS() *AS {
	if m.tb.AS2 != nil && m.getTweaks().SecondAS {
		return m.tb.AS2
	}
	return m.tb.AS
}
