package testbed

import (
	"net/http"
	"time"
)

// deviceGrant is a pending RFC 8628 device authorization.
type deviceGrant struct {
	clientID string
	scope    string
	expires  time.Time
	done     bool
}

// serveDevice is the device authorization endpoint (RFC 8628 §3.1-3.2).
func (p *IdP) serveDevice(w http.ResponseWriter, r *http.Request) {
	form, e := tokenForm(w, r)
	if e == nil {
		var c Client
		if c, e = p.auth.authenticate(r, form); e == nil {
			if !containsScope(form["scope"], "openid") {
				e = errf(http.StatusBadRequest, "invalid_scope", "scope must include openid")
			} else {
				writeJSON(w, http.StatusOK, p.newDevice(c, form["scope"]))
				return
			}
		}
	}
	writeOAuthError(w, e)
}

func (p *IdP) newDevice(c Client, scope string) map[string]any {
	t := p.signInTweaks()
	life := t.DeviceCodeLifetime
	if life == 0 {
		life = 10 * time.Minute
	}
	code, user := randomID(), "WDJB-MJHT"
	p.si.mu.Lock()
	p.si.devices[code] = &deviceGrant{clientID: c.ID, scope: scope, expires: p.tb.Now().Add(life)}
	p.si.mu.Unlock()
	resp := map[string]any{
		"device_code":               code,
		"user_code":                 user,
		"verification_uri":          p.issuer + "/device",
		"verification_uri_complete": p.issuer + "/device?user_code=" + user,
		"expires_in":                int64(life.Seconds()),
	}
	switch {
	case t.DeviceInterval == 0:
		resp["interval"] = 5
	case t.DeviceInterval > 0:
		resp["interval"] = int64(t.DeviceInterval.Seconds())
	}
	return resp
}

// deviceGrantToken answers one device poll (RFC 8628 §3.4-3.5): the next
// queued answer, else approval of the test user.
func (p *IdP) deviceGrantToken(c Client, form map[string]string) (map[string]any, *oauthError) {
	p.si.mu.Lock()
	p.si.counts.DevicePolls++
	g, ok := p.si.devices[form["device_code"]]
	var answer string
	if ok && len(p.si.tweaks.DeviceAnswers) > 0 {
		answer = p.si.tweaks.DeviceAnswers[0]
		p.si.tweaks.DeviceAnswers = p.si.tweaks.DeviceAnswers[1:]
	}
	var done bool
	if ok {
		done = g.done
		if answer == "" {
			g.done = true
		}
	}
	p.si.mu.Unlock()
	switch {
	case form["device_code"] == "":
		return nil, invalidRequest("device_code missing")
	case !ok || g.clientID != c.ID:
		return nil, invalidGrant("unknown device_code")
	case done:
		return nil, invalidGrant("device_code already used")
	case !p.tb.Now().Before(g.expires):
		return nil, errf(http.StatusBadRequest, "expired_token", "the device code expired")
	case answer != "":
		return nil, errf(http.StatusBadRequest, answer, "the test IdP was told to answer so")
	}
	resp, e := p.signInResponse(c.ID, g.scope, "", nil)
	if e == nil {
		p.count(func(s *SignInCounters) { s.DeviceGrants++ })
	}
	return resp, e
}
