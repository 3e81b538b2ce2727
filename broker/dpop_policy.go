package broker

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/xaad-dev/xaad/broker/discovery"
	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/broker/grant"
)

// DPoPPolicy says whether a server's tokens are sender-constrained with
// the identity's DPoP key (RFC 9449). It is set per MCP server
// (ServerConfig.DPoP) and per authorization server (Config.AuthServerDPoP).
type DPoPPolicy string

// The policies. The empty value means DPoPAuto.
const (
	// DPoPAuto uses DPoP where the authorization server advertises it
	// (dpop_signing_alg_values_supported, RFC 9449 §5.1) with the key's
	// algorithm, and bearer tokens elsewhere.
	DPoPAuto DPoPPolicy = "auto"
	// DPoPRequired refuses bearer tokens: a server whose authorization
	// server does not advertise DPoP with the key's algorithm, or answers
	// a proof with a Bearer token, gets no token at all.
	DPoPRequired DPoPPolicy = "required"
	// DPoPOff never sends a proof: bearer tokens only.
	DPoPOff DPoPPolicy = "off"
)

// Valid reports whether p is one of the policies or empty.
func (p DPoPPolicy) Valid() bool {
	return p == "" || p == DPoPAuto || p == DPoPRequired || p == DPoPOff
}

// combine is the policy of a server whose own setting is p and whose
// authorization server's is as: the stricter wins, so required anywhere
// is required, then off anywhere is off, else auto. A user-added server
// has no setting of its own and follows its authorization server.
func combine(p, as DPoPPolicy) DPoPPolicy {
	switch {
	case p == DPoPRequired || as == DPoPRequired:
		return DPoPRequired
	case p == DPoPOff || as == DPoPOff:
		return DPoPOff
	}
	return DPoPAuto
}

// dpopPolicyLocked is srv's policy with the authorization server issuer.
func (b *Broker) dpopPolicyLocked(srv *server, issuer string) DPoPPolicy {
	return combine(srv.dpop, b.cfg.AuthServerDPoP[issuer])
}

// dpopPlan is how one flight uses DPoP: key nil means bearer tokens.
type dpopPlan struct {
	policy DPoPPolicy
	key    *dpop.Key
	// idp: the exchange carries a proof too, because the IdP advertises
	// DPoP with the key's algorithm; the ID-JAG is then bound (cnf.jkt).
	idp bool
}

// planDPoP decides, from the policy and the metadata, whether this flight
// sends proofs. Under auto a server that cannot take the key's proofs gets
// bearer tokens; under required it gets an error naming the setting.
func (b *Broker) planDPoP(srv *server, meta *metadata) (dpopPlan, error) {
	b.mu.RLock()
	pol := b.dpopPolicyLocked(srv, meta.as.Issuer)
	key := b.dpopKeyLocked()
	idpMeta := b.idpMeta
	b.mu.RUnlock()
	p := dpopPlan{policy: pol}
	if pol == DPoPOff {
		return p, nil
	}
	iss, algs := meta.as.Issuer, meta.as.DPoPAlgs
	switch {
	case key == nil && pol == DPoPRequired:
		return p, newError(ReasonLoginRequired, true, nil, "dpop = \"required\" for %s, and this sign-in has no DPoP key; run `xaactl login`", srv.url)
	case key == nil:
		return p, nil
	case len(algs) == 0 && pol == DPoPRequired:
		return p, newError(ReasonConfig, true, nil,
			"dpop = \"required\" for %s, but its authorization server %s does not advertise DPoP (no dpop_signing_alg_values_supported in its metadata), so it would issue bearer tokens; set dpop = \"auto\" in its [[server]] or [[authorization_server]] section to accept them", srv.url, iss)
	case !slices.Contains(algs, string(key.Algorithm())) && pol == DPoPRequired:
		return p, newError(ReasonConfig, true, nil,
			"dpop = \"required\" for %s, but its authorization server %s takes DPoP proofs signed with %v, and this sign-in's key is %s; run `xaactl login` again: the new key's algorithm is chosen from what the IdP and the known authorization servers accept",
			srv.url, iss, algs, key.Algorithm())
	case !slices.Contains(algs, string(key.Algorithm())):
		if len(algs) > 0 {
			b.log.Info("the authorization server takes no DPoP proofs of this key's algorithm; using bearer tokens (dpop = \"auto\")",
				slog.String("server", srv.url), slog.String("as", iss), slog.Any("algs", algs), slog.String("key_alg", string(key.Algorithm())))
		}
		return p, nil
	}
	p.key = key
	p.idp = idpMeta != nil && slices.Contains(idpMeta.DPoPAlgs, string(key.Algorithm()))
	return p, nil
}

// exchangeEndpoint is ep with proofs when the plan proves at the IdP.
// It returns a copy, so it can be applied again after a new plan.
func (p dpopPlan) exchangeEndpoint(ep *grant.Endpoint, nonces *dpop.Nonces) *grant.Endpoint {
	c := *ep
	c.DPoP = nil
	if p.key != nil && p.idp {
		c.DPoP = &grant.DPoP{Key: p.key, Nonces: nonces}
	}
	return &c
}

// grantEndpoint is ep with proofs when the plan uses DPoP.
func (p dpopPlan) grantEndpoint(ep *grant.Endpoint, nonces *dpop.Nonces) *grant.Endpoint {
	if p.key != nil {
		ep.DPoP = &grant.DPoP{Key: p.key, Nonces: nonces}
	}
	return ep
}

// accept applies the policy to an issued token: RFC 9449 §5 lets an AS
// answer a proof with a Bearer token, which auto accepts and required
// refuses (the token is discarded, never served).
func (p dpopPlan) accept(srv *server, as *discovery.AuthServer, at *grant.AccessToken, log *slog.Logger) error {
	if p.key == nil || at.Type == grant.TokenTypeDPoP {
		return nil
	}
	if p.policy == DPoPRequired {
		return newError(ReasonASDenied, true, nil,
			"the authorization server %s answered xaad's DPoP proof with a bearer token, which dpop = \"required\" for %s refuses; ask its administrator to bind tokens, or set dpop = \"auto\"", as.Issuer, srv.url)
	}
	log.Warn("the authorization server answered a DPoP proof with a bearer token; using it (dpop = \"auto\")", slog.String("server", srv.url), slog.String("as", as.Issuer))
	return nil
}

// tokenFitsPolicyLocked reports whether a cached token may be served under
// the policy now in force: a reload may have made a server required (no
// bearer token then) or off (no DPoP-bound one).
func (b *Broker) tokenFitsPolicyLocked(srv *server, t *Token) bool {
	switch b.dpopPolicyLocked(srv, t.AuthServer) {
	case DPoPRequired:
		return t.Type == grant.TokenTypeDPoP
	case DPoPOff:
		return t.Type != grant.TokenTypeDPoP
	}
	return true
}

// assertionAllowed refuses an ID-JAG for a server under dpop = required:
// it is handed to a caller that runs the grant without xaad's key, so it
// would buy a bearer token, which the policy forbids.
func (b *Broker) assertionAllowed(srv *server, aud string) error {
	b.mu.RLock()
	pol := combine("", b.cfg.AuthServerDPoP[aud])
	if srv != nil {
		pol = b.dpopPolicyLocked(srv, aud)
	}
	b.mu.RUnlock()
	if pol != DPoPRequired {
		return nil
	}
	return newError(ReasonConfig, true, nil,
		"dpop = \"required\" for %s: an ID-JAG handed out would buy a bearer token, so xaad gives none; get DPoP-bound tokens with GetToken (client.Transport, `xaactl proxy`)", aud)
}

// checkPolicies refuses unknown policy values in a configuration.
func (c *Config) checkPolicies() error {
	for iss, p := range c.AuthServerDPoP {
		if !p.Valid() {
			return fmt.Errorf("broker: dpop %q for %s: want auto, required or off", p, iss)
		}
	}
	for _, s := range c.Servers {
		if !s.DPoP.Valid() {
			return fmt.Errorf("broker: dpop %q for %s: want auto, required or off", s.DPoP, s.URL)
		}
	}
	return nil
}
