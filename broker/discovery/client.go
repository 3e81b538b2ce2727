package discovery

import (
	"net/http"
	"time"
)

// Client discovers metadata. The zero value is usable; it is safe for
// concurrent use.
type Client struct {
	// HTTP sends the requests; nil means http.DefaultClient. Its redirect
	// policy is replaced by a strict one.
	HTTP *http.Client
	// Timeout bounds each request; zero means 10 s.
	Timeout time.Duration
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}
