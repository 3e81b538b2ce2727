package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Endpoint names one HTTP endpoint of the testbed, for faults, counters and
// recorded requests.
type Endpoint string

// The testbed's endpoints.
const (
	EndpointIdPMetadata Endpoint = "idp.metadata" // OIDC discovery
	EndpointIdPJWKS     Endpoint = "idp.jwks"
	EndpointIdPToken    Endpoint = "idp.token"
	EndpointASMetadata  Endpoint = "as.metadata" // RFC 8414 or OIDC discovery
	EndpointASJWKS      Endpoint = "as.jwks"
	EndpointASToken     Endpoint = "as.token"
	// The second authorization server's endpoints (Options.SecondAS).
	EndpointAS2Metadata Endpoint = "as2.metadata"
	EndpointAS2JWKS     Endpoint = "as2.jwks"
	EndpointAS2Token    Endpoint = "as2.token"
	EndpointPRM         Endpoint = "mcp.prm"  // RFC 9728 metadata
	EndpointMCP         Endpoint = "mcp"      // the Streamable HTTP endpoint
	EndpointOpenMCP     Endpoint = "mcp.open" // the same server without OAuth
)

// Fault changes how an endpoint answers. Latency and Hang apply first; then
// the first set field of RedirectTo, Error, Body, OversizeBytes, Status
// decides the response. A Fault with only Latency set delays the request and
// lets the endpoint answer normally.
type Fault struct {
	// Latency delays the request; the wait ends early when the request's
	// context ends or the testbed closes.
	Latency time.Duration
	// Hang never answers: the handler returns only when the request's
	// context ends or the testbed closes.
	Hang bool
	// RedirectTo answers with a redirect to this URL (status 307 unless
	// Status is a 3xx), to test that clients refuse redirects on token
	// endpoints.
	RedirectTo string
	// Error answers with an RFC 6749 §5.2 error body with this code, the
	// Description and the Extra members (e.g. "max_age"); status 400 unless
	// Status is set.
	Error       string
	Description string
	Extra       map[string]any
	// Body answers with these bytes (e.g. garbage or wrongly typed JSON),
	// status 200 unless Status is set, Content-Type application/json unless
	// ContentType is set.
	Body        []byte
	ContentType string
	// OversizeBytes answers 200 with a syntactically valid JSON object of
	// about this many bytes, to test response size caps.
	OversizeBytes int
	// Status alone answers with this status and its status text.
	Status int
	// Header is added to the faulted response.
	Header http.Header
}

// faultSet holds queued and persistent faults per endpoint.
type faultSet struct {
	mu         sync.Mutex
	queued     map[Endpoint][]Fault
	persistent map[Endpoint]Fault
}

func newFaultSet() *faultSet {
	return &faultSet{queued: map[Endpoint][]Fault{}, persistent: map[Endpoint]Fault{}}
}

// next pops the fault for one request to ep.
func (fs *faultSet) next(ep Endpoint) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if q := fs.queued[ep]; len(q) > 0 {
		fs.queued[ep] = q[1:]
		return q[0], true
	}
	f, ok := fs.persistent[ep]
	return f, ok
}

// QueueFault applies f to the next n requests of ep, after any faults
// already queued for it. Queued faults take precedence over [Testbed.SetFault].
func (tb *Testbed) QueueFault(ep Endpoint, n int, f Fault) {
	tb.faults.mu.Lock()
	defer tb.faults.mu.Unlock()
	for range n {
		tb.faults.queued[ep] = append(tb.faults.queued[ep], f)
	}
}

// SetFault applies f to every request of ep until [Testbed.ClearFaults].
func (tb *Testbed) SetFault(ep Endpoint, f Fault) {
	tb.faults.mu.Lock()
	defer tb.faults.mu.Unlock()
	tb.faults.persistent[ep] = f
}

// ClearFaults removes all queued and persistent faults.
func (tb *Testbed) ClearFaults() {
	tb.faults.mu.Lock()
	defer tb.faults.mu.Unlock()
	clear(tb.faults.queued)
	clear(tb.faults.persistent)
}

// wait blocks for d or until ctx ends or the testbed closes; it reports
// whether the full delay elapsed.
func (tb *Testbed) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-tb.closed:
	}
	return false
}

// applyFault runs f for one request and reports whether it wrote the
// response (or abandoned the request), so the endpoint must not run.
func (tb *Testbed) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Latency > 0 && !tb.wait(r.Context(), f.Latency) {
		return true
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-tb.closed:
		}
		return true
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := func(def int) int {
		if f.Status != 0 {
			return f.Status
		}
		return def
	}
	switch {
	case f.RedirectTo != "":
		code := http.StatusTemporaryRedirect
		if f.Status >= 300 && f.Status < 400 {
			code = f.Status
		}
		http.Redirect(w, r, f.RedirectTo, code)
	case f.Error != "":
		body := map[string]any{}
		for k, v := range f.Extra {
			body[k] = v
		}
		body["error"] = f.Error
		if f.Description != "" {
			body["error_description"] = f.Description
		}
		writeJSON(w, status(http.StatusBadRequest), body)
	case f.Body != nil:
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status(http.StatusOK))
		w.Write(f.Body)
	case f.OversizeBytes > 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status(http.StatusOK))
		var b bytes.Buffer
		b.WriteString(`{"pad":"`)
		b.WriteString(strings.Repeat("x", f.OversizeBytes))
		b.WriteString(`"}`)
		w.Write(b.Bytes())
	case f.Status != 0:
		http.Error(w, http.StatusText(f.Status), f.Status)
	default:
		return false
	}
	return true
}

// writeJSON writes v with the RFC 6749 §5.1 no-store headers, which are
// harmless on metadata and required on token responses.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}
