package bridge

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// pending tracks the client's requests that the server has not answered,
// each with the context its HTTP exchange runs under. The zero value is not
// usable: m must be set.
type pending struct {
	mu     sync.Mutex
	m      map[jsonrpc.ID]context.CancelFunc
	closed bool
}

// add registers id and returns the context for its exchange. The context is
// detached from ctx's cancellation on purpose: the SDK keeps reading the
// response stream under it after the answer arrives, and cancelling it then
// would throw away a connection that could be reused. It ends when the
// client cancels the request or the session ends (cancelAll, failAll).
func (p *pending) add(ctx context.Context, id jsonrpc.ID) context.Context {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		cancel()
		return ctx
	}
	if old, ok := p.m[id]; ok {
		old() // a reused id: the client gave up on the first one
	}
	p.m[id] = cancel
	return ctx
}

// done forgets id once its answer has arrived (or been sent by the bridge)
// and reports whether it was still open.
func (p *pending) done(id jsonrpc.ID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.m[id]
	delete(p.m, id)
	return ok
}

// cancel stops the exchange of a request the client cancelled.
func (p *pending) cancel(id jsonrpc.ID) {
	p.mu.Lock()
	cancel, ok := p.m[id]
	delete(p.m, id)
	p.mu.Unlock()
	if ok {
		cancel()
	}
}

// cancelAll stops every exchange; later adds are born cancelled.
func (p *pending) cancelAll() {
	p.failAll(func(jsonrpc.ID) {})
}

// failAll stops every exchange and calls answer for each open request, so
// the client is not left waiting.
func (p *pending) failAll(answer func(jsonrpc.ID)) {
	p.mu.Lock()
	open := p.m
	p.m = map[jsonrpc.ID]context.CancelFunc{}
	p.closed = true
	p.mu.Unlock()
	for id, cancel := range open {
		cancel()
		answer(id)
	}
}
