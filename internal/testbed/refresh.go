package testbed

import (
	"net/http"
	"time"
)

// refreshGrant is what an IdP refresh token stands for.
type refreshGrant struct {
	clientID string
	subject  string
	expires  time.Time
	// used marks a rotated-out token: presenting it again is a replay.
	used bool
}

// IssueRefreshToken returns an IdP refresh token for the test user, bound to
// the IdP client, as an authorization_code login with offline_access would.
func (p *IdP) IssueRefreshToken() string {
	rt := randomID()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refresh[rt] = refreshGrant{
		clientID: p.tb.opts.IdPClient.ID,
		subject:  p.tb.opts.Subject,
		expires:  p.tb.Now().Add(p.tb.opts.RefreshTokenLifetime),
	}
	return rt
}

// RevokeRefreshTokens invalidates every refresh token, as an admin
// revocation or a session end would.
func (p *IdP) RevokeRefreshTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.refresh)
}

// refreshGrant implements RFC 6749 §6 with rotation (OAuth 2.0 Security BCP
// §4.14.2): each use returns a new refresh token and retires the old one.
// Reusing a retired token revokes all tokens of that client and user, the
// BCP's reaction to a suspected theft.
func (p *IdP) refreshGrant(c Client, form map[string]string) (map[string]any, *oauthError) {
	rt := form["refresh_token"]
	if rt == "" {
		return nil, invalidRequest("refresh_token missing")
	}
	now := p.tb.Now()
	p.mu.Lock()
	g, ok := p.refresh[rt]
	switch {
	case !ok || g.clientID != c.ID:
		p.mu.Unlock()
		return nil, invalidGrant("unknown refresh token")
	case g.used:
		p.si.mu.Lock()
		p.si.counts.RefreshReuses++
		p.si.mu.Unlock()
		for k, o := range p.refresh {
			if o.clientID == g.clientID && o.subject == g.subject {
				delete(p.refresh, k)
			}
		}
		p.mu.Unlock()
		return nil, invalidGrant("refresh token reused")
	case !now.Before(g.expires):
		delete(p.refresh, rt)
		p.mu.Unlock()
		return nil, invalidGrant("refresh token expired")
	}
	g.used = true
	p.refresh[rt] = g
	next := randomID()
	p.refresh[next] = refreshGrant{clientID: c.ID, subject: g.subject, expires: now.Add(p.tb.opts.RefreshTokenLifetime)}
	p.mu.Unlock()

	idt, err := p.MintIDToken(IDTokenOptions{Subject: g.subject, Audience: c.ID})
	if err != nil {
		return nil, errf(http.StatusInternalServerError, "server_error", "cannot sign ID token")
	}
	p.tb.stats.add(func(c *Counters) { c.RefreshGrants++ })
	resp := map[string]any{
		"access_token":  randomID(),
		"token_type":    "Bearer",
		"expires_in":    int64(p.tb.opts.IDTokenLifetime.Seconds()),
		"id_token":      idt,
		"refresh_token": next,
		"scope":         "openid offline_access",
	}
	if p.signInTweaks().RefreshWithoutIDToken {
		delete(resp, "id_token")
	}
	return resp, nil
}
