package origin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

var errNoDial = errors.New("not dialing")

// dialed returns the address net/http connects to for u, by asking a real
// Transport whose dialer records it and fails.
func dialed(u *url.URL) (string, bool) {
	var addr string
	tr := &http.Transport{DialContext: func(_ context.Context, _, a string) (net.Conn, error) {
		addr = a
		return nil, errNoDial
	}}
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: u.Host, Path: "/"}, Header: http.Header{}}
	resp, _ := tr.RoundTrip(r)
	if resp != nil {
		resp.Body.Close()
	}
	return addr, addr != ""
}

// FuzzSame checks the origin rule: Same is symmetric, a URL has the same
// origin as itself exactly when it has one, and two URLs of the same origin
// make net/http dial the same host (DNS names compared in ASCII case only)
// and the same port.
func FuzzSame(f *testing.F) {
	for _, p := range [][2]string{
		{"https://σ.example/a", "https://ς.example/b"},
		{"https://Σ.example/", "https://xn--4xa.example:443/"},
		{"https://\u212a.example/", "https://k.example/"},
		{"http://MCP.example:80/", "http://mcp.example/"},
		{"https://a.example./", "https://a.example/"},
		{"https://[::1]:0443/", "https://[::1]:443/"},
		{"https://ß.example/", "https://ss.example/"},
		{"http://127.0.0.1]/", "http://127.0.0.1]/"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ua, err1 := url.Parse(a)
		ub, err2 := url.Parse(b)
		if err1 != nil || err2 != nil {
			return
		}
		same := Same(ua, ub)
		if same != Same(ub, ua) {
			t.Fatalf("Same(%q, %q) is not symmetric", a, b)
		}
		_, ok := Of(ua)
		if Same(ua, ua) != ok {
			t.Fatalf("Same(%q, itself) = %v, but Of says %v", a, !ok, ok)
		}
		if !same || ua.Scheme != "http" && ua.Scheme != "https" {
			return
		}
		da, okA := dialed(withScheme(ua))
		db, okB := dialed(withScheme(ub))
		if !okA || !okB || !sameAddr(da, db) {
			t.Fatalf("Same(%q, %q) but net/http dials %q and %q", a, b, da, db)
		}
	})
}

// sameAddr compares dial addresses as the network stack does: hosts in
// ASCII case only, ports as numbers ("0443" is port 443).
func sameAddr(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	na, err1 := strconv.ParseUint(pa, 10, 16)
	nb, err2 := strconv.ParseUint(pb, 10, 16)
	return err1 == nil && err2 == nil && na == nb && asciiLower(ha) == asciiLower(hb)
}

// withScheme makes the host part carry the effective port, as dialed()
// always uses http.
func withScheme(u *url.URL) *url.URL {
	c := *u
	if c.Port() == "" {
		p, _ := effectivePort(asciiLower(c.Scheme), "")
		c.Host = net.JoinHostPort(c.Hostname(), p)
	}
	return &c
}
