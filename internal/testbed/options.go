package testbed

import (
	"crypto"
	"slices"
	"time"
)

// ClientAuthMethod names an RFC 7591 §2 token_endpoint_auth_method.
type ClientAuthMethod string

// The client authentication methods a token endpoint of the testbed can demand.
const (
	// AuthClientSecretBasic is HTTP Basic with the form-urlencoded id and
	// secret (RFC 6749 §2.3.1).
	AuthClientSecretBasic ClientAuthMethod = "client_secret_basic"
	// AuthClientSecretPost is client_id and client_secret in the request body
	// (RFC 6749 §2.3.1).
	AuthClientSecretPost ClientAuthMethod = "client_secret_post"
	// AuthPrivateKeyJWT is a signed client assertion (RFC 7523 §2.2, OIDC
	// Core §9).
	AuthPrivateKeyJWT ClientAuthMethod = "private_key_jwt"
	// AuthNone is a public client: client_id in the body and nothing else.
	AuthNone ClientAuthMethod = "none"
)

// Client is an OAuth client registered at the IdP or at the AS.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret for the client_secret_* methods.
	Secret string
	// Auth is the only authentication method the endpoint accepts for this
	// client; zero means client_secret_basic.
	Auth ClientAuthMethod
	// PublicKey verifies private_key_jwt assertions: *ecdsa.PublicKey (ES256)
	// or *rsa.PublicKey (RS256).
	PublicKey crypto.PublicKey
}

// MetadataStyle selects which discovery documents the AS publishes.
type MetadataStyle int

const (
	// MetadataRFC8414 serves /.well-known/oauth-authorization-server with
	// RFC 8414 §3.1 path insertion.
	MetadataRFC8414 MetadataStyle = iota
	// MetadataOIDC serves only OpenID Connect discovery documents, both at
	// /.well-known/openid-configuration{path} (path insertion) and at
	// {issuer}/.well-known/openid-configuration (OIDC Discovery §4).
	MetadataOIDC
)

// PRMLocation selects where the MCP server publishes its RFC 9728 metadata.
type PRMLocation int

const (
	// PRMPath serves /.well-known/oauth-protected-resource/mcp (RFC 9728
	// §3.1 path insertion) only.
	PRMPath PRMLocation = iota
	// PRMRoot serves /.well-known/oauth-protected-resource only.
	PRMRoot
	// PRMBoth serves both.
	PRMBoth
)

// Options configures [Start]. The zero value is a working testbed; every
// zero field takes the default documented on it.
type Options struct {
	// Subject is the test user's sub; default "alice".
	Subject string
	// Email is the test user's email; default "alice@example.com".
	Email string

	// IdPClient is the client registered at the IdP (the audience of its ID
	// tokens); default {ID: "idp-client", Secret: "idp-secret",
	// Auth: client_secret_basic}.
	IdPClient Client
	// ASClient is the same client's registration at the AS; the IdP maps
	// IdPClient.ID to ASClient.ID in the ID-JAG client_id claim (docs/protocol.md §6
	// item 16). Default {ID: "mcp-client", Secret: "mcp-secret",
	// Auth: client_secret_basic}.
	ASClient Client

	// Scopes are the MCP server's scopes_supported; default
	// ["tools.read", "tools.call"].
	Scopes []string
	// GrantableScopes is the IdP policy: the token exchange grants the
	// requested scopes intersected with this set, so tests can observe
	// narrowing. Default: Scopes.
	GrantableScopes []string
	// RequiredScopes must all be in an access token for the MCP server to
	// serve a request (403 insufficient_scope otherwise); default none.
	RequiredScopes []string

	// IDTokenLifetime defaults to 1 h, IDJAGLifetime to 300 s,
	// AccessTokenLifetime to 1 h, RefreshTokenLifetime to 24 h.
	IDTokenLifetime      time.Duration
	IDJAGLifetime        time.Duration
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	// MaxAssertionLifetime caps exp-iat of an ID-JAG at the AS; default 24 h.
	MaxAssertionLifetime time.Duration

	// Now is the clock for every issuance and every time check; default
	// time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance on exp, iat and nbf; zero means 60 s, a
	// negative value means none.
	ClockSkew time.Duration

	// ASIssuerPath gives the AS issuer a path component, e.g. "/tenant1".
	ASIssuerPath string
	// ASIssuerTrailingSlash appends "/" to the AS issuer, as some hosted
	// IdPs do (docs/protocol.md §5.3 item 6).
	ASIssuerTrailingSlash bool
	// ASMetadata selects RFC 8414 (default) or OIDC-only discovery at the AS.
	ASMetadata MetadataStyle

	// PRM selects where the protected-resource metadata lives.
	PRM PRMLocation
	// ChallengeWithoutResourceMetadata drops resource_metadata from the
	// MCP server's 401 challenge, forcing clients to probe well-known URLs.
	ChallengeWithoutResourceMetadata bool
	// MCPRefusesGET makes the MCP endpoint answer GET and DELETE with 405
	// before any token check, as a server of MCP 2026-07-28 does; see
	// mcp_methods.go.
	MCPRefusesGET bool
	// MCPStateless runs the MCP server as MCP 2026-07-28 servers run:
	// without sessions, answering GET with 405, accepting 2026-07-28
	// requests and checking their SEP-2243 headers (mcp2026.go).
	MCPStateless bool

	// ExtraAudiences registers more AS issuers at the IdP with the resources
	// each governs, so tests can send a resource that belongs to another
	// AS (invalid_target). The testbed's own AS always governs the MCP URL.
	ExtraAudiences map[string][]string

	// DPoP turns on sender-constrained tokens (RFC 9449); off by default.
	DPoP DPoPOptions

	// ExtraMCPServers starts this many more MCP servers (at most 64),
	// each on a port of its own with the same tools and the same
	// authorization server, as an organization's several servers are;
	// [Testbed.MCPs] lists them after MCP.
	ExtraMCPServers int

	// SecondAS, when set, starts a second authorization server (tb.AS2)
	// with this client registration, which the IdP also trusts for the
	// MCP server and maps to in the ID-JAG client_id. The MCP server moves
	// to it when [MCPTweaks].SecondAS is set: an authorization-server
	// migration (MCP 2026-07-28, "Authorization Server Binding").
	SecondAS *Client
}

func (o Options) withDefaults() Options {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Subject, "alice")
	def(&o.Email, "alice@example.com")
	if o.IdPClient.ID == "" {
		o.IdPClient = Client{ID: "idp-client", Secret: "idp-secret"}
	}
	if o.ASClient.ID == "" {
		o.ASClient = Client{ID: "mcp-client", Secret: "mcp-secret"}
	}
	if o.SecondAS != nil {
		c := *o.SecondAS
		o.SecondAS = &c
	}
	for _, c := range []*Client{&o.IdPClient, &o.ASClient, o.SecondAS} {
		if c == nil {
			continue
		}
		if c.Auth == "" {
			c.Auth = AuthClientSecretBasic
		}
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"tools.read", "tools.call"}
	}
	if o.GrantableScopes == nil {
		o.GrantableScopes = slices.Clone(o.Scopes)
	}
	defDur(&o.IDTokenLifetime, time.Hour)
	defDur(&o.IDJAGLifetime, 300*time.Second)
	defDur(&o.AccessTokenLifetime, time.Hour)
	defDur(&o.RefreshTokenLifetime, 24*time.Hour)
	defDur(&o.MaxAssertionLifetime, 24*time.Hour)
	defDur(&o.ClockSkew, 60*time.Second)
	if o.ClockSkew < 0 {
		o.ClockSkew = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.DPoP = o.DPoP.withDefaults()
	return o
}
