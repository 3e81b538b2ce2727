// Package discovery finds, for one MCP server URL, its protected resource
// metadata (RFC 9728) and the metadata of its authorization server
// (RFC 8414 or OpenID Connect Discovery), in the order the MCP authorization
// specification gives, and validates them strictly: the PRM resource must
// equal the server URL, the AS issuer must equal the issuer it was fetched
// for, byte for byte, and the AS must offer the jwt-bearer grant.
//
// Documents that fail validation are discarded whole, never half-used.
//
// The MCP go-sdk's oauthex package was evaluated for this job and is not
// used. Its WWW-Authenticate parser is lenient (a repeated parameter wins
// silently, an escaped backslash before a closing quote hides the comma
// after it), so internal/wwwauth follows RFC 9110's grammar
// instead. Its metadata fetchers refuse private addresses (enterprise MCP
// servers live on intranets), require PKCE support from every AS (a
// jwt-bearer-only AS has none), and compare issuers after normalisation
// rather than byte for byte.
package discovery
