// Package testbed runs xaad's strict fakes of the three parties of MCP
// Enterprise-Managed Authorization (SEP-990, draft-ietf-oauth-identity-
// assertion-authz-grant) as real HTTP servers on 127.0.0.1:
//
//   - an enterprise IdP: OIDC discovery, a rotating JWKS, and a token
//     endpoint doing RFC 8693 token exchange (ID token -> ID-JAG) and
//     rotating refresh tokens;
//   - the MCP authorization server: RFC 8414 (or OIDC-only) metadata with
//     the id-jag grant profile, and the RFC 7523 jwt-bearer grant (ID-JAG ->
//     access token) with every check of docs/protocol.md §3.3;
//   - an MCP server (go-sdk, Streamable HTTP at /mcp) that demands the AS's
//     access tokens and serves RFC 9728 metadata.
//
// It is the project's first conformance check, so it is as strict as the
// wire reference: exact issuer and resource strings, one-time jti, explicit
// typ, an asymmetric algorithm allow-list, enforced client authentication.
//
// # Usage
//
//	tb, err := testbed.Start(testbed.Options{})
//	if err != nil { t.Fatal(err) }
//	t.Cleanup(tb.Close)
//	idToken, _ := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
//	// exchange at tb.IdP.TokenEndpoint() with audience tb.AS.Issuer() and
//	// resource tb.MCP.URL(), then jwt-bearer at tb.AS.TokenEndpoint(),
//	// then call tb.MCP.URL() with the access token.
//
// Defaults: user "alice" (alice@example.com); IdP client "idp-client" /
// "idp-secret" and AS client "mcp-client" / "mcp-secret", both
// client_secret_basic; scopes "tools.read tools.call"; ID token 1 h, ID-JAG
// 300 s, access token 1 h; clock skew 60 s. See [Options].
//
// # Faults, tweaks and counters
//
// [Testbed.QueueFault] and [Testbed.SetFault] make an [Endpoint] answer
// with a status, an OAuth error, garbage, an oversized body or a redirect,
// after latency or never. [IdP.SetTweaks], [AS.SetTweaks] and
// [MCPServer.SetTweaks] make otherwise valid responses wrong in the ways a
// client must detect (mismatched issuer or resource, missing grant type,
// ID-JAG with the wrong typ, aud or resource, short lifetimes).
// [Testbed.Counters] and [Testbed.LastRequest] let tests assert what was
// sent, e.g. exactly one token exchange and its exact parameters. All of it
// is safe for concurrent use.
//
// # DPoP
//
// With Options.DPoP.Enabled the three servers speak RFC 9449: a proof at
// the token exchange binds the ID-JAG (cnf.jkt), the AS binds access tokens
// to the proof key (token_type DPoP) and refuses a bound ID-JAG without a
// proof of that key, and the MCP server takes "Authorization: DPoP" with a
// proof and refuses a bound token sent as Bearer. Every rule of RFC 9449
// §4.3 is checked, and a refusal names the [ProofRule] it broke. Nonces
// can be required per endpoint and rotated ([DPoPOptions],
// [Testbed.RotateDPoPNonce]); [ForgeProof] makes proofs that are wrong in
// one chosen way; [Testbed.DPoPCounters] counts what each verifier saw.
//
// # Caveats
//
// Time comes from Options.Now for every issuance and check, but latency
// faults use real timers (fake ones under testing/synctest). The AS fetches
// the IdP's JWKS over loopback HTTP on the first ID-JAG and on an unknown
// kid. The testbed never logs; [RequestRecord] keeps tokens in memory for
// assertions only.
package testbed
