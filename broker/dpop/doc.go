// Package dpop is the client side of OAuth 2.0 Demonstrating Proof of
// Possession (RFC 9449) for xaad: one asymmetric key per identity, the proof
// JWTs signed with it, and the server nonces that later proofs must carry.
//
// A [Key] is generated once per identity with the algorithm [ChooseAlgorithm]
// picks from what the IdP and the authorization servers advertise in
// dpop_signing_alg_values_supported. Its private half leaves the process only
// as the bytes of [Key.MarshalPrivate], for sealed storage; every printing
// path (String, GoString, slog, JSON) shows the algorithm and the RFC 7638
// thumbprint, never the key. The thumbprint ([Key.Thumbprint]) is the jkt a
// server puts in cnf to bind a token to the key (RFC 9449 §6).
//
// [Key.Proof] makes one proof per HTTP request (RFC 9449 §4.2): it sets iat
// from the caller's clock and a fresh random jti itself, cuts query and
// fragment off the target URI for htu, and adds ath for a resource request
// and nonce when the caller has one. [Nonces] remembers the last DPoP-Nonce
// each server origin sent (RFC 9449 §8.2, §9), and [TokenNonceChallenge] and
// [ResourceNonceChallenge] recognise the two ways a server asks for one.
//
// Everything here is safe for concurrent use. Nothing in this package logs.
package dpop
