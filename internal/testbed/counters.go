package testbed

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// maxRequestBody caps request bodies; token requests are a few KiB.
const maxRequestBody = 1 << 20

// Counters is a snapshot of what the testbed has seen.
type Counters struct {
	// Requests counts every request per endpoint, faulted ones included.
	Requests map[Endpoint]int
	// Errors counts responses with status >= 400 per endpoint, faulted
	// ones included.
	Errors map[Endpoint]int
	// TokenExchanges counts ID-JAGs issued by the IdP (RFC 8693).
	TokenExchanges int
	// RefreshGrants counts refresh_token grants the IdP honoured.
	RefreshGrants int
	// JWTBearerGrants counts access tokens issued by the AS (RFC 7523).
	JWTBearerGrants int
	// MCPCalls counts MCP requests that passed the bearer check.
	MCPCalls int
	// TooManyRequests counts 429 answers per endpoint, from a
	// [RateLimit] or a fault.
	TooManyRequests map[Endpoint]int
}

// RequestRecord is what an endpoint received. It holds tokens: tests may
// assert on it, nothing may log it.
type RequestRecord struct {
	// Endpoint is the endpoint that received it; At is when, on the
	// testbed's clock.
	Endpoint Endpoint
	At       time.Time
	Method   string
	// Path is the request path.
	Path string
	// Query is the URL query.
	Query url.Values
	// Form is the parsed urlencoded body (duplicates kept).
	Form url.Values
	// Header is a copy of the request headers.
	Header http.Header
	// ClientID is the client the token endpoint authenticated, if it got
	// that far.
	ClientID string
	// ClientAuth is the method that client used.
	ClientAuth ClientAuthMethod
	// Status is the response status.
	Status int
}

// maxLog bounds the request log: the most recent requests are kept.
const maxLog = 4096

type stats struct {
	mu   sync.Mutex
	c    Counters
	last map[Endpoint]RequestRecord
	// log holds the completed requests in order, the last maxLog of them.
	log []RequestRecord
}

func newCounters() Counters {
	return Counters{Requests: map[Endpoint]int{}, Errors: map[Endpoint]int{}, TooManyRequests: map[Endpoint]int{}}
}

func newStats() *stats {
	return &stats{c: newCounters(), last: map[Endpoint]RequestRecord{}}
}

func (s *stats) add(f func(c *Counters)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.c)
}

// Counters returns a snapshot of the counters.
func (tb *Testbed) Counters() Counters {
	tb.stats.mu.Lock()
	defer tb.stats.mu.Unlock()
	c := tb.stats.c
	c.Requests = maps.Clone(c.Requests)
	c.Errors = maps.Clone(c.Errors)
	c.TooManyRequests = maps.Clone(c.TooManyRequests)
	return c
}

// RequestLog returns the completed requests of every endpoint in the
// order they completed (the most recent 4096), for tests that check what
// went first.
func (tb *Testbed) RequestLog() []RequestRecord {
	tb.stats.mu.Lock()
	defer tb.stats.mu.Unlock()
	return slices.Clone(tb.stats.log)
}

// TokenExchanges returns how many ID-JAGs the IdP has issued.
func (tb *Testbed) TokenExchanges() int { return tb.Counters().TokenExchanges }

// JWTBearerGrants returns how many access tokens the AS has issued.
func (tb *Testbed) JWTBearerGrants() int { return tb.Counters().JWTBearerGrants }

// Requests returns how many requests ep has received, faulted ones included.
func (tb *Testbed) Requests(ep Endpoint) int { return tb.Counters().Requests[ep] }

// ResetCounters zeroes the counters and forgets recorded requests.
func (tb *Testbed) ResetCounters() {
	tb.stats.mu.Lock()
	defer tb.stats.mu.Unlock()
	tb.stats.c = newCounters()
	clear(tb.stats.last)
	tb.stats.log = nil
}

// LastRequest returns the last completed request to ep.
func (tb *Testbed) LastRequest(ep Endpoint) (RequestRecord, bool) {
	tb.stats.mu.Lock()
	defer tb.stats.mu.Unlock()
	r, ok := tb.stats.last[ep]
	return r, ok
}

type recordKey struct{}

// setClient notes the authenticated client on the request's record.
func setClient(ctx context.Context, id string, m ClientAuthMethod) {
	if rec, ok := ctx.Value(recordKey{}).(*RequestRecord); ok {
		rec.ClientID, rec.ClientAuth = id, m
	}
}

// statusWriter remembers the status for the error counter. It passes
// Flush through because the MCP server streams.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// endpoint wraps h with counting, request recording and fault injection.
func (tb *Testbed) endpoint(ep Endpoint, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &RequestRecord{Endpoint: ep, At: tb.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
		if r.Method == http.MethodPost && ep != EndpointMCP {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
			if err != nil {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			rec.Form, _ = url.ParseQuery(string(body))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		tb.stats.add(func(c *Counters) { c.Requests[ep]++ })
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			tb.stats.mu.Lock()
			defer tb.stats.mu.Unlock()
			rec.Status = sw.status
			if sw.status >= 400 {
				tb.stats.c.Errors[ep]++
			}
			if sw.status == http.StatusTooManyRequests {
				tb.stats.c.TooManyRequests[ep]++
			}
			tb.stats.last[ep] = *rec
			if len(tb.stats.log) == maxLog {
				tb.stats.log = slices.Delete(tb.stats.log, 0, 1)
			}
			tb.stats.log = append(tb.stats.log, *rec)
		}()
		if tb.limits.refuse(ep, sw, r, rec.Form, tb.Now()) {
			return
		}
		if f, ok := tb.faults.next(ep); ok && tb.applyFault(sw, r, f) {
			return
		}
		h.ServeHTTP(sw, r)
	})
}
