package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptrace"
	"sync"
)

// clientLine is one line from the client: MCP's stdio transport delimits
// messages with newlines and forbids newlines inside them.
type clientLine struct {
	line    []byte
	tooLong bool // the line was over the cap and has been skipped
	err     error
}

// readLines reads stdin line by line into lines until it ends (io.EOF) or
// ctx does. A line over max is skipped to its end and reported as tooLong,
// so one oversized message costs its request, not the session.
func readLines(ctx context.Context, r io.Reader, max int, lines chan<- clientLine) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		l := readLine(br, max)
		select {
		case lines <- l:
		case <-ctx.Done():
			return
		}
		if l.err != nil {
			return
		}
	}
}

func readLine(br *bufio.Reader, max int) clientLine {
	var line []byte
	tooLong := false
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > max+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil:
			return clientLine{line: bytes.TrimRight(line, "\r\n"), tooLong: tooLong}
		case errors.Is(err, io.EOF) && (len(line) > 0 || tooLong):
			// A last message without its newline still counts.
			return clientLine{line: bytes.TrimRight(line, "\r"), tooLong: tooLong}
		default:
			return clientLine{err: err}
		}
	}
}

// fromClient handles one line from the client. Only a request is answered
// when it is wrong; a malformed line gets a JSON-RPC error with id null
// (JSON-RPC 2.0 §5), and the session goes on with the next line.
func (b *bridge) fromClient(ctx context.Context, line []byte, tooLong bool) {
	if tooLong {
		b.answerError(nil, invalid("the message is longer than %d bytes, the proxy's limit (xaactl proxy --max-message)", b.max))
		return
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	m, perr, id := parseMsg(line)
	if perr != nil {
		b.log.Warn("malformed JSON-RPC from the client", "error", perr.Message)
		perr.Message = "xaactl proxy: " + perr.Message
		b.answerError(id, perr)
		return
	}
	switch {
	case m.isCall():
		b.startCall(ctx, m)
	case m.name == methodCancelled:
		b.cancelled(ctx, m)
	default:
		// A notification, or the client's answer to a server request.
		b.sendOnly(ctx, m)
	}
}

// onWire returns a context whose HTTP request signals sent once it is
// written, and a function that signals it anyway (on failure). The reader
// waits for it before the next message, so the server receives messages in
// the client's order, while each answer is awaited on its own goroutine (a
// slow tool call must not hold up the cancellation behind it).
func onWire(ctx context.Context) (context.Context, func(), <-chan struct{}) {
	sent := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(sent) }) }
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { done() },
	}), done, sent
}

func waitSent(ctx context.Context, sent <-chan struct{}) {
	select {
	case <-sent:
	case <-ctx.Done():
	}
}

// startCall registers a request of the client and sends it.
func (b *bridge) startCall(ctx context.Context, m *msg) {
	m.params = addEMACapability(m.name, m.params)
	if m.name == methodInitialize {
		b.sess.restart(b, m)
	}
	c, err := b.pending.add(ctx, m, b.seq.Add(1), b.versionOf(m))
	if err != nil {
		b.answerError(m.id, err)
		return
	}
	wctx, done, sent := onWire(c.ctx)
	b.spawn(func() {
		defer done()
		b.finishCall(c, b.call(wctx, c, m))
	})
	waitSent(ctx, sent)
}

// sendOnly relays a message that gets no answer.
func (b *bridge) sendOnly(ctx context.Context, m *msg) {
	wctx, done, sent := onWire(ctx)
	b.spawn(func() {
		defer done()
		b.post(wctx, m, b.versionOf(m))
	})
	waitSent(ctx, sent)
}

// cancelled handles the client's notifications/cancelled. The request stops
// waiting for its answer at once. For a server on MCP 2026-07-28 closing
// the request's response stream is the cancellation (Streamable HTTP,
// "Cancellation"), so nothing else is sent; older versions get the
// notification, naming the request by the id the server knows.
func (b *bridge) cancelled(ctx context.Context, m *msg) {
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
	}
	json.Unmarshal(m.params, &p)
	c := b.pending.take(idKey(p.RequestID))
	if c == nil {
		b.log.Debug("cancellation of a request not in flight; dropped")
		return
	}
	defer c.cancel()
	if c.version >= protocolStateless {
		return
	}
	params, err := withRequestID(m.params, c.remote)
	if err != nil {
		b.log.Warn("cancellation not relayed", "error", err)
		return
	}
	m.params = params
	b.sendOnly(ctx, m)
}

// withRequestID replaces params.requestId.
func withRequestID(params json.RawMessage, id int64) (json.RawMessage, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("notifications/cancelled params: %w", err)
	}
	p["requestId"] = json.RawMessage(fmt.Sprint(id))
	return json.Marshal(p)
}
