package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// errNoStream reports that the server offers no stream to (re)connect to.
var errNoStream = errors.New("the MCP server offers no event stream here")

// eventStream reads events from a response stream and, where the protocol
// allows, reconnects when the stream breaks: a GET with Last-Event-ID
// (MCP Streamable HTTP 2025-11-25, "Resumability and Redelivery"), after
// the server's "retry" delay or a growing backoff, at most sseMaxRetries
// times without progress. A request's stream can be resumed only once it
// has an event ID; the standalone stream (standalone) reconnects anyway.
type eventStream struct {
	b          *bridge
	body       io.ReadCloser
	events     *eventReader
	resumable  bool
	standalone bool

	lastID   string
	retry    time.Duration
	failures int
}

func (s *eventStream) close() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
}

// next returns the next event, reconnecting as needed.
func (s *eventStream) next(ctx context.Context) (event, error) {
	for {
		if s.events != nil {
			ev, err := s.events.next()
			s.note()
			if err == nil {
				return ev, nil
			}
			s.close()
			s.events = nil
			if errors.Is(err, errEventTooLarge) || ctx.Err() != nil {
				return event{}, err
			}
			if !s.resumable || (s.lastID == "" && !s.standalone) {
				return event{}, fmt.Errorf("%w: %v", errStreamEnded, err)
			}
			if s.failures++; s.failures > sseMaxRetries {
				return event{}, fmt.Errorf("%w after %d attempts without progress: %v", errStreamEnded, sseMaxRetries, err)
			}
			if !s.wait(ctx) {
				return event{}, ctx.Err()
			}
		}
		if err := s.connect(ctx); err != nil {
			if errors.Is(err, errNoStream) || ctx.Err() != nil {
				return event{}, err
			}
			if s.failures++; s.failures > sseMaxRetries {
				return event{}, err
			}
			if !s.wait(ctx) {
				return event{}, ctx.Err()
			}
		}
	}
}

var errStreamEnded = errors.New("the stream ended")

// note takes over the reader's last event ID and retry, resetting the
// failure count when the ID moved (progress).
func (s *eventStream) note() {
	if id := s.events.lastID; id != "" && id != s.lastID {
		s.lastID, s.failures = id, 0
	}
	if ms, ok := s.events.retryDelayMillis(int64(sseMaxDelay / time.Millisecond)); ok {
		s.retry = time.Duration(ms) * time.Millisecond
	}
}

func (s *eventStream) wait(ctx context.Context) bool {
	d := s.retry
	if d == 0 {
		d = backoff(s.failures - 1)
	}
	t := s.b.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// backoff is the go-sdk's delay before reconnect attempt n (from 0),
// without its jitter: one second, growing by half each time, capped.
func backoff(n int) time.Duration {
	d := sseInitialDelay
	for i := 0; i < n && d < sseMaxDelay; i++ {
		d = d * 3 / 2
	}
	return min(d, sseMaxDelay)
}

// connect opens the stream with a GET. A 4xx (405 above all: servers
// without the standalone stream, and every 2026-07-28 server) or another
// content type means there is no stream; other failures may pass.
func (s *eventStream) connect(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.b.cfg.Endpoint, nil)
	if err != nil {
		return err
	}
	version, sid := s.b.sess.get()
	req.Header.Set("Accept", "text/event-stream")
	if version != "" {
		req.Header.Set("MCP-Protocol-Version", version)
	}
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	resp, err := s.b.http.Do(req)
	if err != nil {
		return err
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		resp.Body.Close()
		return fmt.Errorf("%w (HTTP %d)", errNoStream, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return fmt.Errorf("event stream: HTTP %d", resp.StatusCode)
	case ct != "text/event-stream":
		resp.Body.Close()
		return fmt.Errorf("%w (content type %q)", errNoStream, ct)
	}
	s.body, s.events = resp.Body, newEventReader(resp.Body, s.b.max)
	return nil
}

// listener holds the standalone SSE stream (MCP Streamable HTTP
// 2025-11-25, "Listening for Messages from the Server") open for the
// session's life and passes the server's requests and notifications to
// the client.
type listener struct {
	b *bridge
}

func (l *listener) run(ctx context.Context) {
	s := &eventStream{b: l.b, resumable: true, standalone: true}
	defer s.close()
	for {
		ev, err := s.next(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, errNoStream) {
				l.b.log.Warn("gave up on the server's event stream", "error", err)
			} else {
				l.b.log.Debug("no standalone event stream", "error", err)
			}
			return
		}
		if !ev.carriesMessage() {
			continue
		}
		m, perr, _ := parseMsg(ev.data)
		switch {
		case perr != nil:
			l.b.log.Warn("the MCP server sent a malformed message on its event stream; skipped", "error", perr.Message)
		case m.isResponse():
			l.b.log.Debug("the MCP server sent a response on its event stream; dropped")
		default:
			l.b.deliver(m)
		}
	}
}

// carriesMessage reports whether an event holds a JSON-RPC message: one of
// the default type "message" (HTML §9.2.6) with data. An event with empty
// data is the priming event a server sends first so that a client can
// resume from its id (MCP Streamable HTTP 2025-11-25, "Sending Messages to
// the Server": "an SSE event consisting of an event ID and an empty data
// field"); its id and retry are kept by the reader, and it is no message.
func (ev event) carriesMessage() bool {
	return (ev.typ == "" || ev.typ == "message") && len(ev.data) > 0
}
