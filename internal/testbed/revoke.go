package testbed

import "net/http"

// serveRevoke is the RFC 7009 revocation endpoint. Revoking a refresh
// token revokes its family (every token of that client and user), as a
// sign-out does at real IdPs. Unknown tokens get 200 too (RFC 7009 §2.2).
func (p *IdP) serveRevoke(w http.ResponseWriter, r *http.Request) {
	form, e := tokenForm(w, r)
	if e == nil {
		var c Client
		if c, e = p.auth.authenticate(r, form); e == nil {
			if form["token"] == "" {
				e = invalidRequest("token missing")
			} else {
				p.revokeFamily(c, form["token"])
				w.WriteHeader(http.StatusOK)
				return
			}
		}
	}
	writeOAuthError(w, e)
}

func (p *IdP) revokeFamily(c Client, rt string) {
	p.mu.Lock()
	g, ok := p.refresh[rt]
	if ok && g.clientID == c.ID {
		for k, o := range p.refresh {
			if o.clientID == g.clientID && o.subject == g.subject {
				delete(p.refresh, k)
			}
		}
	}
	p.mu.Unlock()
	if ok && g.clientID == c.ID {
		p.count(func(s *SignInCounters) { s.Revocations++ })
	}
}
