package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/xaad-dev/xaad/internal/origin"
)

// TokenProvider returns access tokens. [*Client] implements it; tests and
// programs that cache tokens themselves may supply their own.
// Implementations must be safe for concurrent use.
type TokenProvider interface {
	GetToken(ctx context.Context, req TokenRequest) (*Token, error)
}

// Transport is an [http.RoundTripper] that adds "Authorization: Bearer" with
// a token from Source for Resource, to requests for Resource's origin
// (scheme, host and port) only: any other request, such as one an
// [http.Client] makes to follow a redirect to another host, is passed to
// Base untouched, without a token. When the server answers 401 it asks
// Source once for a fresh token (ForceRefresh) and retries the request once,
// provided the body can be replayed (http.Request.GetBody, set by
// http.NewRequest for in-memory bodies) or there is none.
//
// It asks Source on every request; the daemon serves cached tokens from
// memory, so there is no cache here. A Transport is safe for concurrent use
// and must not be changed after first use.
type Transport struct {
	// Base makes the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Source provides the tokens. Required.
	Source TokenProvider
	// Resource is the MCP server URL the tokens are for. Required.
	Resource string
	// Scopes to request; nil means the server's configured or advertised
	// scopes.
	Scopes []string
	// MinValidFor is passed on to the daemon; zero accepts any unexpired
	// token.
	MinValidFor time.Duration
}

// RoundTrip implements [http.RoundTripper]. Errors from Source are returned
// wrapped, so [IsLoginRequired] and friends work on the *url.Error that
// http.Client returns.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !SameOrigin(req.URL, t.Resource) {
		// The token is for Resource alone: http.Client calls the transport
		// again for a redirect's target, and must not hand it the token.
		return t.base().RoundTrip(req)
	}
	tok, err := t.token(req.Context(), false)
	if err != nil {
		// A RoundTripper must close the body even on error; once the body
		// is handed to Base, closing it is Base's job.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base().RoundTrip(authorized(req, req.Body, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) {
		return resp, err
	}
	fresh, err := t.token(req.Context(), true)
	if err != nil {
		drain(resp)
		return nil, err
	}
	if fresh.AccessToken == tok.AccessToken {
		// The daemon had nothing newer; repeating the request would get the
		// same 401.
		return resp, nil
	}
	body, err := replayBody(req)
	if err != nil {
		drain(resp)
		return nil, fmt.Errorf("replay request body: %w", err)
	}
	drain(resp)
	return t.base().RoundTrip(authorized(req, body, fresh))
}

func (t *Transport) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

func (t *Transport) token(ctx context.Context, force bool) (*Token, error) {
	if t.Source == nil {
		return nil, errors.New("client.Transport: no Source")
	}
	tok, err := t.Source.GetToken(ctx, TokenRequest{
		Resource:     t.Resource,
		Scopes:       t.Scopes,
		MinValidFor:  t.MinValidFor,
		ForceRefresh: force,
	})
	if err != nil {
		return nil, fmt.Errorf("get token for %s: %w", t.Resource, err)
	}
	return tok, nil
}

// SameOrigin reports whether u has the scheme, host and port of the URL
// resource (RFC 6454 origin, default ports made explicit), hosts compared
// in the form a dialer resolves (IDNA, then ASCII case only). A resource
// that does not parse, or a host IDNA refuses, matches nothing. Transport sends tokens only to requests
// for which it holds; the stdio bridge follows only such redirects.
func SameOrigin(u *url.URL, resource string) bool {
	r, err := url.Parse(resource)
	if err != nil {
		return false
	}
	return origin.Same(u, r)
}

// authorized returns a copy of req with body and the token's Authorization
// header; RoundTrippers must not modify the caller's request.
func authorized(req *http.Request, body io.ReadCloser, tok *Token) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	return r
}

// replayable reports whether the request can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func replayBody(req *http.Request) (io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, nil
	}
	return req.GetBody()
}

// drain lets the connection be reused before the response is dropped. The
// read is capped so a huge 401 body cannot stall the retry.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
