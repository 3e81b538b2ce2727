// Package httpreplay sends an HTTP request a second time: the retry after a
// 401 or a 403 insufficient_scope in package client, and the bridge's retry
// without a token. A RoundTripper may not reuse the body it was given (the
// first attempt consumed it), so a retry needs http.Request.GetBody.
package httpreplay

import (
	"io"
	"net/http"
)

// drainLimit caps what Drain reads: enough for any error page worth a
// reused connection, small enough that a huge body cannot stall a retry.
const drainLimit = 64 << 10

// CanReplay reports whether req can be sent again: it has no body, or
// GetBody can make a new one (http.NewRequest sets it for in-memory bodies).
func CanReplay(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// Clone returns a copy of req with a fresh body, for sending it again. The
// caller's request is not modified, as RoundTrippers must not modify it.
func Clone(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errNoGetBody
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

// Drain reads what is left of a response that is being dropped (at most
// 64 KiB) and closes it, so its connection can be reused.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	resp.Body.Close()
}

type replayError string

func (e replayError) Error() string { return string(e) }

const errNoGetBody = replayError("request body cannot be replayed: GetBody is nil")
