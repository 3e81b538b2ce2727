// Package broker is xaad's protocol engine: it holds the enterprise identity
// and, per MCP server, discovers metadata, exchanges the ID token for an
// ID-JAG at the IdP (RFC 8693) and the ID-JAG for an access token at the
// server's authorization server (RFC 7523), caches the result and persists
// it through a [Store].
//
// The broker imports no gRPC, protobuf or storage engine: the daemon adapts
// it to the API and passes in the store. Errors carry a [Reason] that the
// daemon maps to status codes; no error, log line or status text contains a
// token, assertion or secret.
//
// The protocol steps live in subpackages that know nothing of the broker:
// broker/discovery (RFC 9728 and RFC 8414 metadata), broker/grant (every
// token endpoint call), broker/idtoken (the ID token verifier) and
// broker/signin (the interactive sign-in: browser with its loopback
// redirect, and device flow). The broker owns the identity record and
// the lock under which a sign-in replaces it, so nothing of a previous
// person is served after the swap.
//
// # Concurrency
//
// A [Broker] is safe for concurrent use. Concurrent requests for the same
// (server, scopes) share one upstream flight: N cold callers cause one token
// exchange and one jwt-bearer grant. A flight runs on a context detached from
// any one caller, so a caller that gives up does not fail the others.
//
// # Background work
//
// [Broker.Run] runs the two loops that keep tokens fresh without anyone
// waiting: the access token refresh queue of package broker/schedule, and
// the refresh of the enterprise ID token. Every time they plan or wait on
// comes from the one Config.Clock.
package broker
