package bridge

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/xaad-dev/xaad/client"
)

// authTransport puts xaad's tokens on every request. A 401 is handled by
// [client.Transport] (one forced refresh, one retry); a 403
// insufficient_scope here: ask for the union of the scopes held and the
// scopes challenged, retry once, and keep asking for that union from then
// on (docs/protocol.md §2 step 7.4, §4.3). It is safe for concurrent use.
type authTransport struct {
	base     http.RoundTripper
	src      *recordingSource
	resource string
	log      *slog.Logger

	mu     sync.Mutex
	scopes []string // nil: the server's own
	rt     *client.Transport
}

func newAuthTransport(base http.RoundTripper, tokens client.TokenProvider, resource string, scopes []string, log *slog.Logger) *authTransport {
	a := &authTransport{base: base, src: &recordingSource{inner: tokens}, resource: resource, log: log}
	a.setScopes(scopes)
	return a
}

func (a *authTransport) setScopes(scopes []string) {
	a.scopes = scopes
	a.rt = &client.Transport{Base: a.base, Source: a.src, Resource: a.resource, Scopes: scopes}
}

func (a *authTransport) current() *client.Transport {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rt
}

// RoundTrip implements [http.RoundTripper].
func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := a.current()
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		return resp, err
	}
	challenged, ok := insufficientScope(resp.Header)
	if !ok || !replayable(req) {
		return resp, nil
	}
	if !a.widen(rt, challenged) {
		// The token already holds every scope named: a new one would be
		// refused the same way.
		return resp, nil
	}
	body, err := replayBody(req)
	if err != nil {
		return resp, nil
	}
	drain(resp)
	retry := req.Clone(req.Context())
	retry.Body = body
	return a.current().RoundTrip(retry)
}

// widen switches to the union of held and challenged scopes and reports
// whether that asks for anything new. When another request already widened
// past rt, its result is used as is.
func (a *authTransport) widen(rt *client.Transport, challenged []string) bool {
	granted := a.src.granted()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rt != rt {
		return true
	}
	want := union(a.scopes, granted, challenged)
	if len(want) == len(union(a.scopes, granted)) {
		return false
	}
	a.log.Info("the MCP server wants more scopes; getting a new token", "scopes", strings.Join(want, " "))
	a.setScopes(want)
	return true
}

// insufficientScope returns the scopes of an RFC 6750 §3.1
// insufficient_scope challenge.
func insufficientScope(h http.Header) ([]string, bool) {
	chs, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
	if err != nil {
		return nil, false
	}
	for _, ch := range chs {
		if ch.Scheme == "bearer" && ch.Params["error"] == "insufficient_scope" {
			return strings.Fields(ch.Params["scope"]), true
		}
	}
	return nil, false
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

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func replayBody(req *http.Request) (io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Body, nil
	}
	return req.GetBody()
}

// drain lets the connection be reused; the cap keeps a huge error body from
// stalling the retry.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// recordingSource remembers the scopes of the last token it handed out, so
// a step-up can ask for "what we had, plus", and reuses a token for a few
// seconds (see cacheFor).
type recordingSource struct {
	inner client.TokenProvider

	mu     sync.Mutex
	scopes []string
	// cache holds the last token per requested scope set with when it was
	// fetched. A busy session sends many messages a second; asking the
	// daemon for each adds a round trip to another process to every one.
	cache map[string]cachedToken
}

type cachedToken struct {
	tok     *client.Token
	fetched time.Time
}

// cacheFor bounds the reuse: the daemon stays the authority, so a logout, a
// sign-in as someone else or a policy change reaches the proxy within
// seconds. cacheMargin: a token this close to expiry is never reused.
const (
	cacheFor    = 5 * time.Second
	cacheMargin = time.Minute
)

func (r *recordingSource) GetToken(ctx context.Context, req client.TokenRequest) (*client.Token, error) {
	key := strings.Join(req.Scopes, " ")
	if !req.ForceRefresh {
		r.mu.Lock()
		c, ok := r.cache[key]
		r.mu.Unlock()
		if ok && time.Since(c.fetched) < cacheFor && time.Until(c.tok.Expiry) > cacheMargin+req.MinValidFor {
			return c.tok, nil
		}
	}
	tok, err := r.inner.GetToken(ctx, req)
	if err == nil {
		r.mu.Lock()
		r.scopes = slices.Clone(tok.Scopes)
		if r.cache == nil {
			r.cache = map[string]cachedToken{}
		}
		r.cache[key] = cachedToken{tok: tok, fetched: time.Now()}
		r.mu.Unlock()
	}
	return tok, err
}

func (r *recordingSource) granted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.scopes)
}

// versionTransport adds Mcp-Protocol-Version once the session has one; the
// SDK adds it itself only for sessions its own client started.
type versionTransport struct {
	base http.RoundTripper
	init *initState
}

func (v *versionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Mcp-Protocol-Version") == "" {
		if pv := v.init.protocolVersion(); pv != "" {
			req = req.Clone(req.Context())
			req.Header.Set("Mcp-Protocol-Version", pv)
		}
	}
	return v.base.RoundTrip(req)
}
