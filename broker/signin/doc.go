// Package signin is the interactive part of the enterprise sign-in: the
// OpenID Connect authorization code flow through the person's browser,
// with its RFC 8252 loopback redirect listener and result page, and the
// RFC 8628 device flow with its polling.
//
// It takes plain values (endpoints, client id, scopes, a clock) and hands
// back an authorization code or the IdP's tokens, or an [*Error] whose
// [Kind] the caller turns into its own classification. It keeps no state
// between sign-ins and knows nothing of the identity the caller holds:
// verifying the ID token and adopting it are the caller's job, which is
// what lets the caller swap the identity under its own lock.
//
// Every wait (the device polling interval, the code's expiry, a sign-in's
// overall deadline) runs on the injected [clock.Clock], so tests drive a
// whole sign-in on [clock.Fake] without sleeping.
package signin
