package hostile

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Bounds of the unlisted-flood attack (docs/limits.md, "Unlisted servers").
const (
	// perDiscovery is what one discovery of a URL that is no MCP server
	// may send: the URL itself, for its 401 challenge, and the path-aware
	// and root protected resource metadata URLs (RFC 9728 §3).
	perDiscovery = 3
	// unlistedSlots is how many unlisted URLs are tried at once, each for
	// at most unlistedTimeout.
	unlistedSlots   = 4
	unlistedTimeout = 10 * time.Second
	// quietFor is how long the attack watches for requests nobody asked
	// for after the flood: failed discovery used to be retried for 12
	// hours, about 750 requests a second after a 3,000 URL flood.
	quietFor = 2 * time.Second
)

// unlistedFlood asks for tokens for thousands of loopback URLs nobody
// configured: some answer 404, some garbage, some accept the connection
// and never answer. 3,000 used to cause 17,170 upstream requests, 3,001
// stored servers and 52,976 more requests in the next 70 s, and the ones
// that never answered filled every background refresh slot.
func unlistedFlood() *Attack {
	var (
		mu             sync.Mutex
		target         *Target
		notFound, junk atomic.Int64 // requests the servers got
		accepted       atomic.Int64 // connections the silent one took
		quiet          func() (int64, int64)
	)
	return &Attack{
		Name:     "unlisted-flood",
		What:     "2 processes with 16 callers each ask for tokens for thousands of unknown loopback URLs: 404s, garbage, and servers that never answer",
		Procs:    2,
		Duration: 4 * time.Second,
		Prepare: func(t *Target) (map[string]string, func(), error) {
			nf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				notFound.Add(1)
				http.NotFound(w, r)
			}))
			gb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				junk.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte("<html>{{not json"))
			}))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				nf.Close()
				gb.Close()
				return nil, nil, err
			}
			var conns []net.Conn
			var cmu sync.Mutex
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted.Add(1)
					cmu.Lock()
					conns = append(conns, c)
					cmu.Unlock()
				}
			}()
			mu.Lock()
			target = t
			quiet = func() (int64, int64) { return notFound.Load() + junk.Load(), accepted.Load() }
			mu.Unlock()
			cleanup := func() {
				nf.Close()
				gb.Close()
				ln.Close()
				cmu.Lock()
				for _, c := range conns {
					c.Close()
				}
				cmu.Unlock()
			}
			return map[string]string{"notfound": nf.URL, "garbage": gb.URL, "silent": "http://" + ln.Addr().String()}, cleanup, nil
		},
		Run: func(e *Env) *Outcome {
			ss := newSession(e)
			defer ss.end()
			o, rpc := ss.o, ss.rpc
			kinds := []string{"notfound", "garbage", "silent"}
			// The silent URLs come in the second half: they hold every
			// unlisted slot, so the others then wait and are refused
			// (LIMIT_EXCEEDED), which the first half does not measure.
			silentFrom := e.Until.Add(-time.Until(e.Until) / 2)
			workers(e, 16, func(w, round int) bool {
				kind := kinds[(w+round)%2]
				if time.Now().After(silentFrom) {
					kind = kinds[(w+round)%3]
				}
				url := fmt.Sprintf("%s/p%d-w%d-r%d/mcp", e.Args[kind], e.Index, w, round)
				ctx, cancel := context.WithTimeout(ss.ctx, time.Second)
				defer cancel()
				_, err := rpc.GetToken(ctx, &xaadv1.GetTokenRequest{Resource: url})
				o.add("sent "+kind, "")
				switch {
				case err == nil:
					o.unexpected("a token for %s", url)
				case o.expect(err, kind+": DISCOVERY_FAILED", codes.FailedPrecondition, "DISCOVERY_FAILED", ""):
				case o.expect(err, kind+": UPSTREAM_UNAVAILABLE", codes.Unavailable, "UPSTREAM_UNAVAILABLE", ""):
				case o.expect(err, kind+": LIMIT_EXCEEDED", codes.ResourceExhausted, "LIMIT_EXCEEDED", "docs/limits.md"):
				case o.expect(err, kind+": deadline", codes.DeadlineExceeded, "", ""):
				case e.over():
				default:
					o.unexpected("%s: %v", kind, err)
				}
				return true
			})
			return o
		},
		Check: func(p *Phase) []string {
			mu.Lock()
			t, counts := target, quiet
			mu.Unlock()
			var out []string
			sent := p.sum("sent notfound") + p.sum("sent garbage")
			upstream, conns := counts()
			if max := int64(perDiscovery * sent); upstream > max {
				out = append(out, fmt.Sprintf("unlisted-flood: %d requests for unknown URLs that answer made %d upstream requests, more than one discovery (%d) each", sent, upstream, perDiscovery))
			}
			// Each slot holds a silent URL for the 10 s of a first token.
			if max := int64(unlistedSlots * (1 + int(p.Took/unlistedTimeout))); conns > max {
				out = append(out, fmt.Sprintf("unlisted-flood: %d requests for URLs that never answer opened %d connections to them; %d slots of %s allow %d",
					p.sum("sent silent"), conns, unlistedSlots, unlistedTimeout, max))
			}
			if sent+p.sum("sent silent") < 500 {
				out = append(out, fmt.Sprintf("unlisted-flood: only %d requests were sent; the attack proves little: %s", sent+p.sum("sent silent"), strings.Join(p.kinds(), ", ")))
			}
			// Nobody asks now: nothing may go out.
			time.Sleep(quietFor)
			if later, laterConns := counts(); later != upstream || laterConns != conns {
				out = append(out, fmt.Sprintf("unlisted-flood: %d upstream requests and %d connections in the %s after the flood, with nobody asking", later-upstream, laterConns-conns, quietFor))
			}
			out = append(out, noJunkRegistered(t)...)
			p.Note = fmt.Sprintf("%d requests for unknown URLs that answer made %d upstream requests; %d for URLs that never answer opened %d connections; none in the %s after",
				sent, upstream, p.sum("sent silent"), conns, quietFor)
			return out
		},
	}
}

// noJunkRegistered checks that the daemon lists no server but the
// testbed's: a URL that never yielded a token is not registered.
func noJunkRegistered(t *Target) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, t.Socket)
	if err != nil {
		return []string{"unlisted-flood: " + err.Error()}
	}
	defer c.Close()
	list, err := c.Raw().ListServers(ctx, &xaadv1.ListServersRequest{})
	if err != nil {
		return []string{"unlisted-flood: ListServers: " + err.Error()}
	}
	var junk []string
	for _, s := range list.GetServers() {
		if s.GetUrl() != t.MCP {
			junk = append(junk, s.GetUrl())
		}
	}
	if n := len(junk) + int(list.GetServersOmitted()); n > 0 {
		return []string{fmt.Sprintf("unlisted-flood: %d unknown URLs are registered after the flood: %.200s", n, strings.Join(junk, " "))}
	}
	return nil
}
