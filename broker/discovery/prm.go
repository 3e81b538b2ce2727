package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
)

// Resource is validated protected resource metadata of one MCP server.
type Resource struct {
	// ServerURL is the MCP server URL discovery started from.
	ServerURL string
	// Resource is the PRM resource member; equal to ServerURL.
	Resource             string
	AuthorizationServers []string
	ScopesSupported      []string
	// ChallengeScopes is the scope parameter of the server's 401
	// challenge, if it sent one; MCP prefers it over ScopesSupported.
	ChallengeScopes []string
	// MetadataURL is where the document was found.
	MetadataURL string
}

type prmDoc struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
	ScopesSupported      []string `json:"scopes_supported"`
}

// ProtectedResource discovers and validates the PRM of the MCP server at
// serverURL: first the resource_metadata of a 401 challenge (see
// [Client.challenge]), then the path-based and the root well-known URLs
// (MCP authorization, RFC 9728 §3).
func (c *Client) ProtectedResource(ctx context.Context, serverURL string) (*Resource, error) {
	u, err := httpx.CheckURL(serverURL)
	if err != nil {
		return nil, fmt.Errorf("%w: MCP server URL: %v", ErrInvalid, err)
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("%w: MCP server URL %q has a query; resource identifiers should not (RFC 9728 §1.2)", ErrInvalid, serverURL)
	}
	hint, challengeScopes, err := c.challenge(ctx, serverURL)
	if err != nil {
		// The server itself is unreachable; its well-known URLs live on
		// the same host, so probing them would only multiply the wait.
		return nil, fmt.Errorf("protected resource metadata of %s: %w", serverURL, err)
	}
	return c.lookup(ctx, u, serverURL, hint, challengeScopes)
}

// ProtectedResourceAt is [Client.ProtectedResource] for a server whose
// metadata URL is already known (from an earlier discovery, or the
// resource_metadata of a 401 the caller has): no probe is sent, metadataURL
// is tried first and the well-known URLs after it. scopes stands for the
// 401's scope hint. The document is validated as ProtectedResource
// validates it.
func (c *Client) ProtectedResourceAt(ctx context.Context, serverURL, metadataURL string, scopes []string) (*Resource, error) {
	u, err := httpx.CheckURL(serverURL)
	if err != nil || u.RawQuery != "" {
		return c.ProtectedResource(ctx, serverURL)
	}
	if _, err := httpx.CheckURL(metadataURL); err != nil {
		metadataURL = ""
	}
	return c.lookup(ctx, u, serverURL, metadataURL, scopes)
}

// lookup tries the hinted metadata URL, then the well-known ones, and
// returns the first document that answers and validates.
func (c *Client) lookup(ctx context.Context, u *url.URL, serverURL, hint string, challengeScopes []string) (*Resource, error) {
	var candidates []string
	if hint != "" {
		candidates = append(candidates, hint)
	}
	for _, wk := range wellKnownPRM(u) {
		if wk != hint {
			candidates = append(candidates, wk)
		}
	}
	var lastErr error
	for _, mu := range candidates {
		var doc prmDoc
		err := c.getJSON(ctx, mu, &doc)
		var se *StatusError
		if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("protected resource metadata of %s: %w", serverURL, err)
		}
		r, err := validatePRM(doc, serverURL, mu)
		if err != nil {
			return nil, err
		}
		r.ChallengeScopes = challengeScopes
		return r, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no metadata URL answered")
	}
	return nil, fmt.Errorf("%w: no protected resource metadata found for %s: %v", ErrInvalid, serverURL, lastErr)
}

// validatePRM applies RFC 9728 §3.3: the resource must be identical to the
// URL it was discovered for, or the document is discarded.
func validatePRM(doc prmDoc, serverURL, metadataURL string) (*Resource, error) {
	if doc.Resource != serverURL {
		return nil, fmt.Errorf("%w: protected resource metadata at %s names resource %q, not %q (RFC 9728 §3.3); refusing it", ErrInvalid, metadataURL, httpx.Clip(doc.Resource), serverURL)
	}
	if len(doc.AuthorizationServers) == 0 {
		return nil, fmt.Errorf("%w: protected resource metadata at %s lists no authorization_servers", ErrInvalid, metadataURL)
	}
	for _, as := range doc.AuthorizationServers {
		if _, err := httpx.CheckURL(as); err != nil {
			return nil, fmt.Errorf("%w: protected resource metadata at %s: authorization server: %v", ErrInvalid, metadataURL, err)
		}
	}
	// RFC 9728 §2: scopes_supported holds RFC 6749 scope values; these are
	// requested as they are, so a malformed one fails the document.
	if !httpx.ValidScopes(doc.ScopesSupported) {
		return nil, fmt.Errorf("%w: protected resource metadata at %s: scopes_supported has a value that is not an RFC 6749 §3.3 scope-token", ErrInvalid, metadataURL)
	}
	return &Resource{
		ServerURL:            serverURL,
		Resource:             doc.Resource,
		AuthorizationServers: doc.AuthorizationServers,
		ScopesSupported:      doc.ScopesSupported,
		MetadataURL:          metadataURL,
	}, nil
}

// wellKnownPRM lists the RFC 9728 §3.1 URLs for u: path-based first, then
// the root, as the MCP authorization specification orders them.
func wellKnownPRM(u *url.URL) []string {
	root := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/.well-known/oauth-protected-resource"}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path == "" {
		return []string{root.String()}
	}
	withPath := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + path
	return []string{withPath, root.String()}
}
