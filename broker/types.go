package broker

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Source tells where a served token came from.
type Source int

// Sources.
const (
	SourceMemory  Source = iota + 1 // cached in memory
	SourceDisk                      // loaded from the store at start-up
	SourceNetwork                   // fetched for this request
)

func (s Source) String() string {
	switch s {
	case SourceMemory:
		return "memory"
	case SourceDisk:
		return "disk"
	case SourceNetwork:
		return "network"
	}
	return "unknown"
}

// Token is an access token for one MCP server and scope set.
type Token struct {
	AccessToken string
	// Type is "Bearer" or "DPoP"; a DPoP token is bound to the key whose
	// thumbprint is JKT and is sent with a proof ([Broker.Proof]).
	Type        string
	JKT         string
	ExpiresAt   time.Time
	RefreshedAt time.Time
	// Scopes are the granted scopes.
	Scopes []string
	// Resource is the validated PRM resource; AuthServer the AS issuer.
	Resource   string
	AuthServer string
	ServerURL  string
	Source     Source
	// Stale reports a token served although its refresh failed;
	// StaleReason says why.
	Stale       bool
	StaleReason string
	// NextRefreshAt is when the scheduler plans to refresh the token.
	NextRefreshAt time.Time
}

// TokenRequest asks for an access token.
type TokenRequest struct {
	ServerURL string
	// Scopes requested; empty means the server's defaults.
	Scopes []string
	// MinValid is how long the token must stay valid; a cached token
	// that expires sooner is replaced first.
	MinValid time.Duration
	// Force replaces any cached token (for a token the server rejected),
	// and makes the next token fetch read the server's metadata again.
	Force bool
	// Challenge is the server's 401 challenge that led to Force, if the
	// caller passed it on (see [Challenge]).
	Challenge *Challenge
}

// Challenge is what an MCP server's 401 said (RFC 6750 §3, RFC 9728 §5.1),
// as a caller received it. Its values come from another process: they are
// hints for rediscovery, checked as discovery checks its own probe's.
type Challenge struct {
	// ResourceMetadata is where the server's metadata is read from when it
	// is on the server's origin.
	ResourceMetadata string
	// Scope is the server's scope hint, space separated.
	Scope string
	// Error is the error code, e.g. invalid_token; it is logged.
	Error string
}

// IdentityState is the state of the enterprise sign-in.
type IdentityState int

// Identity states.
const (
	SignedOut IdentityState = iota
	SignedIn
	NeedsLogin
	// Refreshing: the ID token is being renewed right now.
	Refreshing
)

func (s IdentityState) String() string {
	return [...]string{"signed out", "signed in", "needs login", "refreshing"}[s]
}

// IdentityInfo describes the enterprise identity without its tokens.
type IdentityInfo struct {
	State           IdentityState
	Issuer          string
	Subject         string
	ExpiresAt       time.Time
	HasRefreshToken bool
	// Verified reports whether the ID token's signature was checked.
	Verified bool
	// Reason explains NeedsLogin.
	Reason string
	// MaxAge (seconds) and ACRValues are the step-up the next browser
	// login sends, when the IdP demanded one.
	MaxAge    string
	ACRValues string
	// DPoPThumbprint and DPoPAlgorithm describe the sign-in's DPoP key
	// (RFC 7638 thumbprint, JWS algorithm); never the key itself.
	DPoPThumbprint string
	DPoPAlgorithm  string
	// NextPrompt is the prompt the next browser sign-in sends besides the
	// configured one ("consent" or ""), and NextPromptReason why.
	NextPrompt       string
	NextPromptReason string
}

// Origin tells where a server entry comes from.
type Origin int

// Origins.
const (
	OriginConfig Origin = iota + 1
	OriginUser
)

// ServerState summarises a server's tokens.
type ServerState int

// Server states.
const (
	ServerIdle   ServerState = iota + 1 // no valid token, none being fetched, no failure
	ServerReady                         // a valid token is cached
	ServerFailed                        // the last attempt failed and no valid token exists
	ServerStale                         // the last refresh failed; a valid token is still served
	// ServerDiscovering: no valid token; a fetch is discovering the
	// server's metadata (RFC 9728, RFC 8414).
	ServerDiscovering
	// ServerRefreshing: a token is being fetched; a valid one, if held,
	// is still served.
	ServerRefreshing
	// ServerNeedsLogin: no valid token, and none can be got until the
	// person signs in (signed out, or the sign-in needs renewing by hand).
	ServerNeedsLogin
)

// Counters are per-server event counts since start.
type Counters struct {
	// Requests counts every Token call for the server.
	Requests uint64
	// Refreshes counts access tokens obtained from the network.
	Refreshes uint64
	// Failures counts failed refreshes.
	Failures uint64
	// CacheHits counts Token calls answered from the cache.
	CacheHits uint64
	// TokenExchanges counts ID-JAGs minted for the server (RFC 8693),
	// for refreshes (retries included), assertions and spares.
	TokenExchanges uint64
	// JWTBearerGrants counts RFC 7523 grant requests sent to its
	// authorization server, accepted or not.
	JWTBearerGrants uint64
	// AssertionsServed counts ID-JAGs handed out by Assertion.
	AssertionsServed uint64
}

// ServerInfo describes one MCP server.
type ServerInfo struct {
	URL             string
	Scopes          []string
	KeepWarm        bool
	Origin          Origin
	Resource        string
	AuthServer      string
	State           ServerState
	TokenExpiresAt  time.Time
	LastRefreshAt   time.Time
	NextRefreshAt   time.Time
	LastError       string
	LastErrorReason Reason
	Counters        Counters
	// LastUsedAt is when a caller last asked for a token; zero if never.
	LastUsedAt time.Time
	// TokenType is the type of the held token ("Bearer" or "DPoP"); empty
	// when none is held. DPoP is the policy in force: the server's own
	// combined with its authorization server's once that is known.
	TokenType string
	DPoP      DPoPPolicy
}

// normScopes sorts and de-duplicates scopes so equal sets share a cache entry.
func normScopes(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func scopeKey(scopes []string) string { return strings.Join(scopes, " ") }

// Fingerprint is a short, non-reversible handle for a secret, for logs and
// audit: the first 8 hex digits of its SHA-256.
func Fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}
