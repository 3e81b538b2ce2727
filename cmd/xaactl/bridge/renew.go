package bridge

import (
	"encoding/json"
	"strconv"
)

// renew starts a new session after the server ended the one (sentIn) a
// request was sent in: when a server answers 404 to a request in a session,
// the client MUST start a new one with a new initialize (Streamable HTTP
// 2025-11-25, "Session Management"). The bridge sends the client's own
// initialize and notifications/initialized again, so the client, which
// cannot see sessions through stdio, keeps working; what the old session
// held at the server (subscriptions, log level) is gone. It reports
// whether the request is worth sending again. Concurrent callers share one
// renewal.
func (b *bridge) renew(sentIn string) bool {
	s := &b.sess
	s.mu.Lock()
	switch {
	case s.init == nil:
		s.mu.Unlock()
		return false
	case s.id != sentIn && s.id != "":
		s.mu.Unlock()
		return true // another request already renewed it
	case s.renewing != nil:
		wait := s.renewing
		s.mu.Unlock()
		select {
		case <-wait:
		case <-b.ctx.Done():
			return false
		}
		_, id := s.get()
		return id != "" && id != sentIn
	}
	done := make(chan struct{})
	s.renewing = done
	init, version, stop := s.init, s.version, s.stop
	s.id, s.stop = "", nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	ok := b.reinitialize(init, version)
	s.mu.Lock()
	s.renewing = nil
	close(done)
	s.mu.Unlock()
	return ok
}

func (b *bridge) reinitialize(init *msg, version string) bool {
	c := &call{remote: b.seq.Add(1), method: methodInitialize}
	ans := b.exchange(b.ctx, c, init, func(*msg) {})
	if ans.resp == nil || ans.resp.result == nil {
		b.log.Warn("the MCP server ended the session and refused a new one")
		return false
	}
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	json.Unmarshal(ans.resp.result, &r)
	if r.ProtocolVersion != version {
		b.log.Warn("the MCP server ended the session and offers another protocol version now; reconnect the server in your MCP client",
			"was", version, "now", r.ProtocolVersion)
		if ans.sessionID != "" {
			b.spawn(func() { b.deleteSession(ans.sessionID) })
		}
		return false
	}
	b.started(ans.resp, ans.sessionID)
	b.post(b.ctx, &msg{method: json.RawMessage(strconv.Quote("notifications/initialized")), name: "notifications/initialized"}, version)
	b.log.Warn("the MCP server ended the session; started a new one (what the server kept for the old one is gone)")
	return true
}
