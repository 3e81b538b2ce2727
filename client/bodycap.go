package client

import (
	"errors"
	"io"
	"mime"
	"net/http"
)

// ErrBodyTooLarge is returned by a response body that Transport.MaxBody
// cut off.
var ErrBodyTooLarge = errors.New("response body larger than the limit (client.Transport.MaxBody)")

// capBody makes resp's body fail past max bytes, unless resp is an event
// stream: a stream's total size is unbounded by design, and its events are
// for the SSE parser to bound (the go-sdk's StreamableClientTransport has
// MaxEventSize, which v1.8.0 leaves unbounded unless set).
func capBody(resp *http.Response, max int64) *http.Response {
	if max <= 0 || resp == nil {
		return resp
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/event-stream" {
		return resp
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: max}
	return resp
}

type cappedBody struct {
	io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1] // one byte more tells "exactly max" from "more"
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n - 1, ErrBodyTooLarge
	}
	return n, err
}
