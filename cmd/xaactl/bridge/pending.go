package bridge

import (
	"context"
	"encoding/json"
	"sync"
)

// call is a request of the client on its way: the id the client gave it
// (answered byte for byte) and the id the server sees, which the bridge
// assigns, so ids the client keeps apart can never merge on the way.
type call struct {
	key     string          // idKey(id)
	id      json.RawMessage // the client's id, as sent
	remote  int64           // the id in the request the server gets
	method  string
	version string // the protocol version the request travels under
	ctx     context.Context
	cancel  context.CancelFunc
}

// pending tracks the client's requests in flight. Call init before use.
type pending struct {
	mu     sync.Mutex
	calls  map[string]*call
	max    int
	closed bool
}

func (p *pending) init(max int) {
	p.calls = map[string]*call{}
	p.max = max
}

// add registers a request. Its context ends when the client cancels the
// request or the session ends. A reused id means the client gave up on the
// first request, which stops waiting.
func (p *pending) add(ctx context.Context, m *msg, remote int64, version string) (*call, *rpcError) {
	cctx, cancel := context.WithCancel(ctx)
	c := &call{key: idKey(m.id), id: m.id, remote: remote, method: m.name, version: version, ctx: cctx, cancel: cancel}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		cancel()
		return nil, proxyError("xaactl proxy is shutting down", nil)
	}
	old := p.calls[c.key]
	if old == nil && len(p.calls) >= p.max {
		cancel()
		return nil, proxyError("too many requests in flight (the proxy's limit is "+itoa(p.max)+"); wait for answers before sending more", nil)
	}
	if old != nil {
		old.cancel()
	}
	p.calls[c.key] = c
	return c, nil
}

// finish forgets c once its answer is due and reports whether the answer
// is still wanted (not cancelled, not replaced, session not ended).
func (p *pending) finish(c *call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls[c.key] != c {
		return false
	}
	delete(p.calls, c.key)
	return true
}

// take removes and returns the request with the given id key, if in
// flight.
func (p *pending) take(key string) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[key]
	delete(p.calls, key)
	return c
}

// closeAll removes every request and refuses new ones.
func (p *pending) closeAll() []*call {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var out []*call
	for _, c := range p.calls {
		out = append(out, c)
	}
	clear(p.calls)
	return out
}
