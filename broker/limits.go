package broker

import (
	"fmt"

	"github.com/xaad-dev/xaad/broker/upstream"
)

// Limits are the client-side rate limits of the upstream token endpoints
// (package upstream): a token bucket per endpoint, which callers pass
// before background work. Zero fields take [upstream.DefaultLimit]'s,
// which keeps one daemon below the strictest published per-user limit.
type Limits struct {
	// IdP is the limit at the IdP's token endpoint: token exchanges, ID
	// token refreshes and the sign-in grants.
	IdP upstream.Limit
	// AuthServers is the limit at each authorization server's token
	// endpoint (jwt-bearer grants), keyed by issuer like
	// Config.AuthServers.
	AuthServers map[string]upstream.Limit
	// Default is the limit at the authorization servers AuthServers does
	// not name.
	Default upstream.Limit
}

// validate checks every limit as New and Reconfigure need it.
func (l Limits) validate() error {
	if err := l.IdP.Validate(); err != nil {
		return fmt.Errorf("IdP %w", err)
	}
	for iss, al := range l.AuthServers {
		if err := al.Validate(); err != nil {
			return fmt.Errorf("authorization server %s: %w", iss, err)
		}
	}
	if err := l.Default.Validate(); err != nil {
		return fmt.Errorf("default client: %w", err)
	}
	return nil
}

// Settings named in errors and status, so a person knows which key sets
// the limit in force (daemon/config_rate.go reads them).
const (
	settingIdP           = "rate_limit and rate_burst in [idp]"
	settingDefaultClient = "rate_limit and rate_burst in [default_client]"
)

func settingAS(issuer string) string {
	return fmt.Sprintf("rate_limit and rate_burst in the [[authorization_server]] section of %s", issuer)
}

// limitFor is the limit of an endpoint of kind, with the setting that
// sets it. Read under mu: Reconfigure swaps cfg.Limits.
func (b *Broker) limitFor(kind UpstreamKind, issuer string) (upstream.Limit, string) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	l := b.cfg.Limits
	if kind == UpstreamIdP {
		return l.IdP, settingIdP
	}
	if al, ok := l.AuthServers[issuer]; ok {
		return al, settingAS(issuer)
	}
	if _, ok := b.cfg.AuthServers[issuer]; ok {
		return l.Default, settingAS(issuer)
	}
	return l.Default, settingDefaultClient
}
