package daemon

import (
	"fmt"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
)

// clientAuth reads the secret or key of a client section, with the reads
// validate made (readSecret, grant.LoadPrivateKey).
func (c *ClientSection) clientAuth() (grant.ClientAuth, error) {
	a := grant.ClientAuth{Method: grant.AuthMethod(c.AuthMethod), ClientID: c.ClientID, KeyID: c.KeyID}
	switch a.Method {
	case grant.ClientSecretBasic, grant.ClientSecretPost:
		s, err := readSecret(c.ClientSecretFile)
		if err != nil {
			return a, err
		}
		a.Secret = s
	case grant.PrivateKeyJWT:
		k, err := grant.LoadPrivateKey(c.PrivateKeyFile)
		if err != nil {
			return a, err
		}
		a.Key = k
	}
	return a, nil
}

// BrokerConfig builds the broker's configuration, reading secret files.
func (fc *FileConfig) BrokerConfig() (broker.Config, error) {
	var bc broker.Config
	idpAuth, err := fc.IdP.clientAuth()
	if err != nil {
		return bc, fmt.Errorf("idp client: %w", err)
	}
	bc.IdP = broker.IdPConfig{Issuer: fc.IdP.Issuer, TokenEndpoint: fc.IdP.TokenEndpoint, Auth: idpAuth, Scopes: fc.IdP.Scopes, Prompt: fc.IdP.Prompt}
	bc.AuthServers = map[string]grant.ClientAuth{}
	bc.AuthServerDPoP = map[string]broker.DPoPPolicy{}
	for _, as := range fc.AuthServers {
		a, err := as.clientAuth()
		if err != nil {
			return bc, fmt.Errorf("client at %s: %w", as.Issuer, err)
		}
		bc.AuthServers[as.Issuer] = a
		bc.AuthServerDPoP[as.Issuer] = broker.DPoPPolicy(as.DPoP)
	}
	if fc.DefaultClient != nil {
		a, err := fc.DefaultClient.clientAuth()
		if err != nil {
			return bc, fmt.Errorf("default client: %w", err)
		}
		bc.DefaultClient = &a
		bc.DefaultClientIssuers, bc.DefaultClientAnyIssuer = fc.DefaultClient.Issuers, fc.DefaultClient.AnyIssuer
	}
	for _, s := range fc.Servers {
		bc.Servers = append(bc.Servers, broker.ServerConfig{URL: s.URL, Scopes: s.Scopes, KeepWarm: s.KeepWarm, IdleAfter: s.idleAfter(), DPoP: broker.DPoPPolicy(s.DPoP)})
	}
	bc.AllowUnlisted = fc.Daemon.AllowUnlistedServers == nil || *fc.Daemon.AllowUnlistedServers
	bc.Limits = fc.limits()
	return bc, nil
}
