package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/broker/internal/strictjson"
)

// StatusError is a metadata URL that answered with a non-200 status.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

// ErrInvalid marks a document that was fetched but fails validation: a
// security abort or a malformed answer, not an outage.
var ErrInvalid = errors.New("invalid metadata")

// maxRedirects bounds redirects of metadata GETs (which carry no secrets,
// so following a few is safe as long as each hop passes CheckURL).
const maxRedirects = 3

func (c *Client) httpClient() *http.Client {
	base := c.HTTP
	if base == nil {
		base = http.DefaultClient
	}
	hc := *base
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if _, err := httpx.CheckURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return errors.New("redirect from https to http refused")
		}
		return nil
	}
	return &hc
}

// getJSON fetches a metadata document into v. Parsing is strict: one JSON
// object, member names exact and not repeated (strictjson), and a field of
// the wrong JSON type fails the whole document.
func (c *Client) getJSON(ctx context.Context, url string, v any) error {
	if _, err := httpx.CheckURL(url); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{URL: url, Status: resp.StatusCode}
	}
	// The type is judged before the body is read: an answer that is not
	// JSON is not a metadata document (RFC 9728 §3.2, RFC 8414 §3.2), and
	// it may never end (an MCP endpoint that answers every GET with an
	// event stream), which would hold discovery until its timeout.
	if !httpx.IsJSON(resp.Header) {
		return fmt.Errorf("%w: GET %s: content type %q is not JSON", ErrInvalid, url, httpx.Clip(resp.Header.Get("Content-Type")))
	}
	body, err := httpx.ReadBody(resp.Body)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrInvalid, url, err)
	}
	if err := strictjson.Decode(body, v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrInvalid, url, err)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
