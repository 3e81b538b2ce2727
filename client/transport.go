package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/httpreplay"
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
// http.NewRequest for in-memory bodies) or there is none. With StepUp it
// also answers a 403 insufficient_scope with a token for more scopes.
//
// A DPoP-bound token (RFC 9449) goes as "Authorization: DPoP" with a new
// proof per request, signed by the daemon: the first comes with the token
// (TokenRequest.DPoP), later ones from Signer. The server's DPoP-Nonce is
// kept for the next proof, and a 401 use_dpop_nonce gets one retry with
// the new nonce instead of a forced refresh.
//
// It asks Source on every request; the daemon serves cached tokens from
// memory, so there is no cache here. A Transport is safe for concurrent use
// and its fields must not be changed after first use.
type Transport struct {
	// Base makes the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Source provides the tokens. Required.
	Source TokenProvider
	// Signer signs the DPoP proofs of DPoP-bound tokens that come without
	// one (from a Source that caches tokens); nil means Source, when it is
	// a [ProofSigner] (a *Client is).
	Signer ProofSigner
	// Resource is the MCP server URL the tokens are for. Required.
	Resource string
	// Scopes to request; nil means the server's configured or advertised
	// scopes.
	Scopes []string
	// MinValidFor is passed on to the daemon; zero accepts any unexpired
	// token.
	MinValidFor time.Duration
	// StepUp makes a 403 with a Bearer insufficient_scope challenge
	// (RFC 6750 §3.1) ask Source for a token with the union of the scopes
	// requested, the scopes the rejected token held and the scopes the
	// challenge names, and retry the request once with it; from then on
	// the Transport asks for that union (the MCP authorization
	// specification's "step-up authorization flow"). When the union adds
	// nothing, the 403 is returned as is.
	StepUp bool
	// OnStepUp, when set, is called with the new scopes before each
	// step-up, for logging.
	OnStepUp func(scopes []string)
	// MaxBody, when positive, caps each response body from Resource's
	// origin that is not an event stream: reading past MaxBody bytes
	// fails with ErrBodyTooLarge, so a hostile server's endless JSON answer
	// costs an error instead of the program's memory. (The go-sdk reads
	// JSON answers whole; for SSE set its MaxEventSize.)
	MaxBody int64

	// Now is the clock that ages the DPoP proofs signed ahead (presign.go);
	// nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	widened []string  // the union after a step-up; nil before
	nonce   string    // the server's last DPoP-Nonce
	ahead   presigned // the proof signed for the next request
	// onAhead, for tests, is told when a signing ahead has ended.
	onAhead func()
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
	resp, err := t.roundTrip(req)
	return capBody(resp, t.MaxBody), err
}

func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	scopes := t.scopes()
	resp, tok, err := t.send(req, scopes)
	if err != nil || !t.StepUp || resp.StatusCode != http.StatusForbidden || !httpreplay.CanReplay(req) {
		return resp, err
	}
	want, ok := t.stepUp(resp.Header.Values("WWW-Authenticate"), scopes, tok)
	if !ok {
		return resp, nil
	}
	retry, err := httpreplay.Clone(req)
	if err != nil {
		return resp, nil // the 403 is the truest answer left
	}
	httpreplay.Drain(resp)
	resp, _, err = t.send(retry, want)
	return resp, err
}

// send makes one request with a token for scopes and, on a 401, one retry
// with a forced refresh. It returns the token the last attempt carried.
func (t *Transport) send(req *http.Request, scopes []string) (*http.Response, *Token, error) {
	tok, err := t.token(req, scopes, false, nil)
	if err != nil {
		// A RoundTripper must close the body even on error; once the body
		// is handed to Base, closing it is Base's job.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, nil, err
	}
	resp, nonceRefused, err := t.attempt(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || nonceRefused || !httpreplay.CanReplay(req) {
		// A nonce asked for again after its retry: the token is fine, and
		// a new one would be refused the same way.
		return resp, tok, err
	}
	fresh, err := t.token(req, scopes, true, ChallengeOf(resp.Header.Values("WWW-Authenticate")))
	if err != nil {
		httpreplay.Drain(resp)
		return nil, nil, err
	}
	if fresh.AccessToken == tok.AccessToken {
		// The daemon had nothing newer; repeating the request would get the
		// same 401.
		return resp, tok, nil
	}
	retry, err := httpreplay.Clone(req)
	if err != nil {
		httpreplay.Drain(resp)
		return nil, nil, fmt.Errorf("replay request body: %w", err)
	}
	httpreplay.Drain(resp)
	resp, _, err = t.attempt(retry, fresh)
	return resp, fresh, err
}

func (t *Transport) scopes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.widened != nil {
		return t.widened
	}
	return t.Scopes
}

// stepUp works out the scopes to ask for after a 403 and reports whether
// they add anything to what was asked for and held. Concurrent step-ups
// merge: the union only grows.
func (t *Transport) stepUp(challenges []string, asked []string, tok *Token) ([]string, bool) {
	challenged, ok := insufficientScope(challenges)
	if !ok {
		return nil, false
	}
	had := union(asked, tok.Scopes)
	want := union(had, challenged)
	if len(want) == len(had) {
		// The token already holds every scope named: a new one would be
		// refused the same way.
		return nil, false
	}
	t.mu.Lock()
	want = union(want, t.widened)
	t.widened = want
	t.mu.Unlock()
	if t.OnStepUp != nil {
		t.OnStepUp(slices.Clone(want))
	}
	return want, true
}

// union returns the sorted distinct scopes of all lists.
func union(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

func (t *Transport) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

// token asks Source for a token. The forced refresh after a 401 passes
// the 401's challenge along (nil when it had none), so the daemon can
// follow a server that moved to another authorization server.
func (t *Transport) token(req *http.Request, scopes []string, force bool, ch *Challenge) (*Token, error) {
	if t.Source == nil {
		return nil, errors.New("client.Transport: no Source")
	}
	tok, err := t.Source.GetToken(req.Context(), TokenRequest{
		Resource:     t.Resource,
		Scopes:       scopes,
		MinValidFor:  t.MinValidFor,
		ForceRefresh: force,
		Challenge:    ch,
		DPoP:         t.dpopRequest(req),
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

// authorized returns a copy of req with the token's Authorization header;
// RoundTrippers must not modify the caller's request.
func authorized(req *http.Request, tok *Token) *http.Request {
	r := req.Clone(req.Context())
	r.Body = req.Body
	r.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	return r
}
