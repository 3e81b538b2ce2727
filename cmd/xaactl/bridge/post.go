package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// answer is how a request ended: the server's response (which may be a
// JSON-RPC error of the server's), or the bridge's own error.
type answer struct {
	resp      *msg
	err       *rpcError
	sessionID string // the Mcp-Session-Id header of the HTTP response
	sentIn    string // the session the request was sent in
	lost      bool   // the server said that session is gone (404)
}

// call sends the client's request and returns its answer. A tools/call
// the server refuses with HeaderMismatch is retried once after a fresh
// tools/list (MCP 2026-07-28, Streamable HTTP, "Client Behavior": the
// tool's x-mcp-header declarations may have changed), and a request whose
// session the server ended is retried once in a new session.
func (b *bridge) call(ctx context.Context, c *call, m *msg) answer {
	ans := b.exchange(ctx, c, m, b.deliver)
	if ans.lost && b.renew(ans.sentIn) {
		ans = b.exchange(ctx, c, m, b.deliver)
	}
	if c.method == methodToolsCall && isHeaderMismatch(ans) && b.relist(ctx, c, m) {
		b.log.Info("the MCP server's tool declarations changed; retrying with the headers of a new tools/list")
		ans = b.exchange(ctx, c, m, b.deliver)
	}
	return ans
}

func isHeaderMismatch(a answer) bool {
	if a.resp == nil {
		return false
	}
	e := a.resp.errorObject()
	return e != nil && e.Code == codeHeaderMismatch
}

// finishCall gives the client the answer to its request, unless the
// request was cancelled or replaced meanwhile.
func (b *bridge) finishCall(c *call, ans answer) {
	if !b.pending.finish(c) {
		return
	}
	if ans.err != nil {
		b.answerError(c.id, ans.err)
		return
	}
	r := ans.resp
	switch {
	case c.method == methodInitialize && r.result != nil:
		b.started(r, ans.sessionID)
	case c.method == methodToolsList && r.result != nil && c.version >= protocolStateless:
		r.result, _, _ = b.tools.learn(r.result, b.log)
	}
	b.out.line(r.encode(c.id))
}

// exchange makes one POST for request c and reads its answer from the JSON
// body or the SSE stream, passing the stream's other messages to deliver.
func (b *bridge) exchange(ctx context.Context, c *call, m *msg, deliver func(*msg)) answer {
	if c.method != methodInitialize {
		b.sess.waitRenewal(ctx)
	}
	version, sid := b.sess.get()
	if c.method == methodInitialize {
		version, sid = "", ""
	} else if c.version != "" {
		version = c.version
	}
	body := m.encode(json.RawMessage(strconv.FormatInt(c.remote, 10)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return answer{err: proxyError("cannot build the request: "+err.Error(), nil)}
	}
	b.setHeaders(req.Header, m, version, sid)
	resp, err := b.http.Do(req)
	if err != nil {
		return answer{err: b.transportError(ctx, err)}
	}
	defer resp.Body.Close()
	var ans answer
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ans = b.statusAnswer(resp, sid)
	} else {
		ans = b.readAnswer(ctx, c, resp, deliver)
	}
	ans.sessionID, ans.sentIn = resp.Header.Get("Mcp-Session-Id"), sid
	return ans
}

// readAnswer reads a 2xx answer to a request: one JSON-RPC response, or an
// SSE stream that ends with it (MCP Streamable HTTP, "Sending Messages":
// the client MUST support both).
func (b *bridge) readAnswer(ctx context.Context, c *call, resp *http.Response, deliver func(*msg)) answer {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		data, err := readCapped(resp.Body, b.max)
		if err != nil {
			return answer{err: b.readError(ctx, err)}
		}
		r, perr, _ := parseMsg(data)
		switch {
		case perr != nil:
			return answer{err: proxyError("the MCP server answered with a malformed message: "+perr.Message, nil)}
		case !r.isResponse():
			return answer{err: proxyError("the MCP server answered with a request instead of a response", nil)}
		case !isNull(r.id) && idKey(r.id) != remoteKey(c.remote):
			return answer{err: proxyError("the MCP server answered another request than the one sent", nil)}
		}
		return answer{resp: r}
	case "text/event-stream":
		return b.readStream(ctx, c, resp.Body, deliver)
	case "":
		return answer{err: proxyError(fmt.Sprintf("the MCP server sent no answer (HTTP %d without a body)", resp.StatusCode), nil)}
	}
	return answer{err: proxyError(fmt.Sprintf("the MCP server answered with content type %q, neither application/json nor text/event-stream", ct), nil)}
}

func remoteKey(remote int64) string { return "n" + strconv.FormatInt(remote, 10) }

// readStream reads a request's SSE stream until the request's response,
// resuming it (older versions) when it ends early.
func (b *bridge) readStream(ctx context.Context, c *call, body io.ReadCloser, deliver func(*msg)) answer {
	s := &eventStream{b: b, body: body, events: newEventReader(body, b.max), resumable: c.version < protocolStateless}
	defer s.close()
	want := remoteKey(c.remote)
	for {
		ev, err := s.next(ctx)
		if err != nil {
			return answer{err: b.streamError(ctx, err)}
		}
		if !ev.carriesMessage() {
			continue
		}
		m, perr, _ := parseMsg(ev.data)
		switch {
		case perr != nil:
			return answer{err: proxyError("the MCP server sent a malformed message on the response stream: "+perr.Message, nil)}
		case m.isResponse() && idKey(m.id) == want:
			return answer{resp: m}
		case m.isResponse():
			b.log.Debug("the MCP server sent an answer to another request on this stream; dropped")
		default:
			deliver(m)
		}
	}
}

// readCapped reads all of r, failing past max bytes.
func readCapped(r io.Reader, max int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, errTooLarge
	}
	return data, nil
}

// post sends a message that gets no answer (a notification, or the
// client's answer to a server request). The server acknowledges with 202.
func (b *bridge) post(ctx context.Context, m *msg, version string) {
	v, sid := b.sess.get()
	if version == "" {
		version = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.Endpoint, bytes.NewReader(m.encode(nil)))
	if err != nil {
		return
	}
	b.setHeaders(req.Header, m, version, sid)
	resp, err := b.http.Do(req)
	if err != nil {
		b.log.Warn("message to the MCP server not delivered", "method", m.name, "error", b.transportError(ctx, err).Message)
		return
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b.log.Warn("the MCP server refused a message", "method", m.name, "status", resp.StatusCode)
	}
}

// deliver passes a message of the server's to the client.
func (b *bridge) deliver(m *msg) { b.out.line(m.encode(nil)) }

func (b *bridge) answerError(id json.RawMessage, e *rpcError) {
	b.out.line(errorResponse(id, e))
}

// setHeaders sets the Streamable HTTP request headers: content
// negotiation, MCP-Protocol-Version once a version is known (2025-06-18),
// Mcp-Session-Id inside a session, and the SEP-2243 headers.
func (b *bridge) setHeaders(h http.Header, m *msg, version, sessionID string) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if version != "" {
		h.Set("MCP-Protocol-Version", version)
	}
	if sessionID != "" {
		h.Set("Mcp-Session-Id", sessionID)
	}
	b.standardHeaders(h, m)
}
