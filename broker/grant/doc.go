// Package grant makes the token endpoint calls of Enterprise-Managed
// Authorization: the RFC 8693 token exchange at the IdP that turns an ID
// token into an ID-JAG, and the RFC 7523 jwt-bearer grant at an MCP
// authorization server that turns the ID-JAG into an access token.
//
// Each call authenticates the client with the method configured for that
// endpoint (RFC 6749 §2.3, RFC 7523 §2.2), sends exactly the parameters the
// profile defines, refuses redirects, reads at most 1 MiB, and checks the
// response before anything is handed back. Failures come back as
// [*OAuthError] when the server answered with an RFC 6749 §5.2 error, even
// one sent with HTTP 200.
//
// Nothing in this package logs, and no error it returns contains a token,
// assertion or secret.
package grant
