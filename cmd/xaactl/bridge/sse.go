package bridge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// The SDK's reconnection settings for SSE streams (streamable.go): five
// attempts without progress, starting at one second, growing by half.
const (
	sseMaxRetries   = 5
	sseInitialDelay = time.Second
	sseMaxDelay     = 30 * time.Second
	// maxEventSize matches the SDK's default cap on one event.
	maxEventSize = 16 << 20
)

// listener holds the standalone SSE stream (MCP Streamable HTTP, "Listening
// for messages from the server") open for the session's life and passes
// each message to deliver. It does what the SDK's client connection does
// after initialize, which the SDK offers only to its own mcp.Client
// (go-sdk #657).
type listener struct {
	http    *http.Client
	url     string
	session string
	log     *slog.Logger
	deliver func(context.Context, jsonrpc.Message) error
}

// run connects, reads, and reconnects with Last-Event-ID until ctx ends, the
// server says it has no such stream, or it stops making progress.
func (l *listener) run(ctx context.Context) {
	var lastID string
	var retryAfter time.Duration
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			delay := retryAfter
			if delay == 0 {
				delay = backoff(failures)
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		before := lastID
		open, err := l.stream(ctx, &lastID, &retryAfter)
		if ctx.Err() != nil || (err == nil && !open) {
			return
		}
		if lastID != before {
			failures = 0
		} else if failures++; failures > sseMaxRetries {
			l.log.Warn("gave up on the server's event stream", "error", err)
			return
		}
		l.log.Debug("server event stream interrupted; reconnecting", "error", err)
	}
}

// backoff is the SDK's delay before reconnect attempt n (from 0), without
// its jitter: one second, growing by half each time, capped.
func backoff(n int) time.Duration {
	d := sseInitialDelay
	for i := 0; i < n && d < sseMaxDelay; i++ {
		d = d * 3 / 2
	}
	return min(d, sseMaxDelay)
}

// stream makes one GET and reads it to the end. open is false when the
// server offers no standalone stream (405, or another 4xx as the SDK
// tolerates), which is not an error.
func (l *listener) stream(ctx context.Context, lastID *string, retry *time.Duration) (open bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if l.session != "" {
		req.Header.Set("Mcp-Session-Id", l.session)
	}
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		l.log.Debug("the server offers no event stream", "status", resp.StatusCode)
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return true, fmt.Errorf("event stream: %s", resp.Status)
	case ct != "text/event-stream":
		l.log.Warn("the server answered the event stream with another content type", "content_type", ct)
		return false, nil
	}
	return true, readEvents(resp.Body, func(ev event) error {
		if ev.id != "" {
			*lastID = ev.id
		}
		if ev.retry > 0 {
			*retry = ev.retry
		}
		if len(ev.data) == 0 || (ev.name != "" && ev.name != "message") {
			return nil // priming events and other event types carry no message
		}
		msg, err := jsonrpc.DecodeMessage(ev.data)
		if err != nil {
			l.log.Warn("the server sent an event that is not JSON-RPC; skipped", "error", err)
			return nil
		}
		return l.deliver(ctx, msg)
	})
}

// event is one server-sent event (HTML Living Standard §9.2.6).
type event struct {
	name  string
	id    string
	data  []byte
	retry time.Duration
}

// readEvents parses an event stream and calls f for each event, until the
// stream ends (nil) or fails.
func readEvents(r io.Reader, f func(event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	var ev event
	var data [][]byte
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if len(data) > 0 || ev.id != "" || ev.retry > 0 {
				ev.data = bytes.Join(data, []byte("\n"))
				if err := f(ev); err != nil {
					return err
				}
			}
			ev, data = event{}, nil
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "": // a comment
		case "event":
			ev.name = string(value)
		case "data":
			data = append(data, bytes.Clone(value))
		case "id":
			ev.id = string(value)
		case "retry":
			if ms, err := strconv.Atoi(string(value)); err == nil && ms > 0 {
				ev.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	return sc.Err()
}
