package broker

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/clock"
)

// Store persists the broker's records. The broker owns what the records mean
// and encodes them itself; the store keeps opaque bytes (and may seal them).
// Implementations must be safe for concurrent use.
type Store interface {
	Put(bucket, key string, value []byte) error
	Delete(bucket, key string) error
	// List returns every key and value of bucket; an unknown bucket is empty.
	List(bucket string) (map[string][]byte, error)
}

// IdPConfig is the enterprise identity provider.
type IdPConfig struct {
	// Issuer is the IdP's issuer identifier.
	Issuer string
	// TokenEndpoint, when empty, is discovered from Issuer.
	TokenEndpoint string
	// Auth is the client's authentication at the IdP token endpoint; its
	// ClientID is the audience of the ID tokens.
	Auth grant.ClientAuth
	// Scopes are requested at sign-in besides openid and offline_access.
	Scopes []string
	// Prompt is sent on every browser sign-in (OIDC Core §3.1.2.1), for
	// example "consent" for an IdP that grants offline_access only then
	// (OIDC Core §11); empty sends none, unless the IdP showed it needs
	// consent (consent.go).
	Prompt string
}

// ServerConfig is an MCP server known from configuration.
type ServerConfig struct {
	URL string
	// Scopes requested when a caller names none; empty means the scopes
	// the server advertises.
	Scopes []string
	// KeepWarm refreshes the server's tokens in the background whether or
	// not anyone uses them.
	KeepWarm bool
	// IdleAfter, when set, keeps a token refreshed in the background
	// while someone asked for it within this long; zero means
	// Config.IdleAfter (schedule.Policy).
	IdleAfter time.Duration
	// DPoP is the server's DPoP policy; empty leaves it to its
	// authorization server's (AuthServerDPoP), else auto.
	DPoP DPoPPolicy
}

// Config configures a Broker. Only IdP is required.
type Config struct {
	IdP IdPConfig
	// AuthServers holds the client's credentials per authorization server,
	// keyed by issuer exactly as the server publishes it.
	AuthServers map[string]grant.ClientAuth
	// DefaultClient, if set, is used at authorization servers not in
	// AuthServers: those in DefaultClientIssuers when it is set; else any
	// when DefaultClientAnyIssuer is set or it holds no secret
	// (private_key_jwt, none). A secret is never presented at an
	// authorization server it was not made for unless the configuration
	// says so (MCP 2026-07-28, "Authorization Server Binding").
	DefaultClient          *grant.ClientAuth
	DefaultClientIssuers   []string
	DefaultClientAnyIssuer bool
	// AuthServerDPoP is the DPoP policy per authorization server issuer;
	// combined with a server's own as [combine] says.
	AuthServerDPoP map[string]DPoPPolicy
	Servers        []ServerConfig
	// AllowUnlisted lets callers use and add MCP servers that are not in
	// Servers.
	AllowUnlisted bool
	// MaxUnlistedServers bounds the servers registered without the
	// configuration; zero means [MaxUnlistedServers].
	MaxUnlistedServers int
	// Limits are the client-side rate limits of the token endpoints.
	Limits Limits

	// Store persists identity, servers and tokens; nil keeps them in memory.
	Store Store
	// HTTP makes every upstream call; nil means a client with sane timeouts.
	HTTP *http.Client
	// Clock is the time source of every expiry, plan and wait; nil means
	// the system clock. Tests pass a clock.Fake.
	Clock clock.Clock
	// Rand returns jitter draws in [0, 1); nil means math/rand/v2. Tests
	// seed it to make schedules reproducible. It is called from several
	// goroutines and must be safe for concurrent use.
	Rand func() float64
	// IdleAfter is the idle rule of servers without their own: when set, a
	// token is refreshed in the background while someone asked for it
	// within this long; zero means the lifetime rule, under which only a
	// token asked for since it was obtained, and lately (schedule.Queue.Due),
	// is refreshed. Keep-warm
	// servers are always refreshed (schedule.Policy, Queue.Due).
	IdleAfter time.Duration
	// OnNeedsLogin, if set, is called once each time the identity enters
	// NEEDS_LOGIN (refresh refused, step-up demanded, ID token expired
	// beyond renewal), for a desktop notification. It must not block.
	OnNeedsLogin func(IdentityInfo)
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Timeout bounds each upstream HTTP call; zero means 15 s.
	Timeout time.Duration
	// DiscoveryTTL is how long discovered metadata is trusted before it is
	// fetched again; zero means 1 h.
	DiscoveryTTL time.Duration
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 15 * time.Second
}

func (c *Config) discoveryTTL() time.Duration {
	if c.DiscoveryTTL > 0 {
		return c.DiscoveryTTL
	}
	return time.Hour
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}
