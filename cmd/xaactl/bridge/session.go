package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
)

const (
	methodInitialize = "initialize"
	methodCancelled  = "notifications/cancelled"
	methodToolsList  = "tools/list"
	methodToolsCall  = "tools/call"
	// protocolStateless is the first MCP version without sessions, the
	// standalone SSE stream and notifications/cancelled over HTTP
	// (2026-07-28, SEP-2575); versions compare as strings (YYYY-MM-DD).
	protocolStateless = "2026-07-28"
	// metaProtocolVersion is where 2026-07-28 requests carry their version.
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
)

// session is what the server's answer to initialize settled: the protocol
// version (for the MCP-Protocol-Version header) and the Mcp-Session-Id.
// A new initialize from the client starts over.
type session struct {
	mu      sync.Mutex
	version string
	id      string
	stop    context.CancelFunc // ends the standalone stream
	// init is the client's initialize, sent again to renew a session the
	// server ended; renewing is closed when a renewal in progress ends.
	init     *msg
	renewing chan struct{}
}

func (s *session) get() (version, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, s.id
}

// restart forgets the current session, ending it at the server, before
// the client's new initialize.
func (s *session) restart(b *bridge, init *msg) {
	s.mu.Lock()
	old, stop := s.id, s.stop
	s.version, s.id, s.stop, s.init = "", "", nil, init
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	if old != "" {
		b.spawn(func() { b.deleteSession(old) })
	}
}

// started records a successful initialize and, for versions that have one,
// opens the standalone stream of server-initiated messages, which the
// go-sdk offers only to its own mcp.Client (go-sdk #657).
func (b *bridge) started(resp *msg, sessionID string) {
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if resp.result == nil || json.Unmarshal(resp.result, &r) != nil || r.ProtocolVersion == "" {
		return
	}
	if !visibleASCII(sessionID) {
		// Streamable HTTP 2025-11-25: the ID MUST be visible ASCII; any
		// other value could not even be sent back in a header.
		b.log.Warn("the MCP server sent an invalid Mcp-Session-Id; going on without a session")
		sessionID = ""
	}
	lctx, stop := context.WithCancel(b.ctx)
	b.sess.mu.Lock()
	b.sess.version, b.sess.id, b.sess.stop = r.ProtocolVersion, sessionID, stop
	b.sess.mu.Unlock()
	if r.ProtocolVersion >= protocolStateless {
		return
	}
	l := &listener{b: b}
	b.spawn(func() { l.run(lctx) })
}

func visibleASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x21 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// waitRenewal returns once no renewal is in progress, so a request is not
// sent while the session is being replaced.
func (s *session) waitRenewal(ctx context.Context) {
	s.mu.Lock()
	wait := s.renewing
	s.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}
}

// versionOf is the protocol version m travels under: its own
// _meta[io.modelcontextprotocol/protocolVersion] (2026-07-28 puts it in
// every request), else the one initialize settled.
func (b *bridge) versionOf(m *msg) string {
	if v := metaVersion(m.params); v != "" {
		return v
	}
	v, _ := b.sess.get()
	return v
}

func metaVersion(params json.RawMessage) string {
	if len(params) == 0 || params[0] != '{' {
		return ""
	}
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	var v string
	json.Unmarshal(p.Meta[metaProtocolVersion], &v)
	return v
}

// endSession ends the remote session with DELETE (Streamable HTTP
// 2025-11-25, "Session Management"), if there is one.
func (b *bridge) endSession() {
	b.sess.mu.Lock()
	id := b.sess.id
	b.sess.id = ""
	b.sess.mu.Unlock()
	if id != "" {
		b.deleteSession(id)
	}
}

func (b *bridge) deleteSession(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), sessionEndTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, b.cfg.Endpoint, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", id)
	if v, _ := b.sess.get(); v != "" {
		req.Header.Set("MCP-Protocol-Version", v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.log.Warn("ending the remote session failed", "error", err)
		return
	}
	resp.Body.Close()
	b.log.Debug("session ended", "status", resp.StatusCode)
}
