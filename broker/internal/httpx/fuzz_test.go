package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/xaad-dev/xaad/internal/origin"
)

var errNoDial = errors.New("not dialing")

// dialedHost returns the host net/http would connect to for u, by asking
// a real Transport whose dialer records the address and fails.
func dialedHost(u *url.URL) (string, bool) {
	var addr string
	tr := &http.Transport{DialContext: func(_ context.Context, _, a string) (net.Conn, error) {
		addr = a
		return nil, errNoDial
	}}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: u.Host, Path: "/"}, Header: http.Header{}}
	resp, _ := tr.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	host, _, err := net.SplitHostPort(addr)
	return host, err == nil && addr != ""
}

// FuzzCheckURL checks the URL rule every upstream call follows: an
// accepted URL is valid UTF-8, absolute, has a host that can be dialed, no
// userinfo or fragment, and is https, or http to a host that net/http
// dials as the loopback interface itself (localhost or a loopback IP, no
// DNS name).
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://mcp.example/mcp", "http://127.0.0.1:8080/mcp", "http://localhost./mcp", "http://127.0.0.0./",
		"http://[::ffff:127.0.0.1]/", "http://localhoſt/", "https://σ.example/", "https://u:p@h/#f", "http://[::1%25lo]:1/",
		"https://\xff/", "HTTP://LOCALHOST:0/", "http://127.1/", "http://0x7f.0.0.1/", "http://127.0.0.0]/", "http://[127.0.0.1/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := CheckURL(raw)
		if err != nil {
			if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 3*ClipLen+100 {
				t.Fatalf("error text invalid or long: %d bytes", len(msg))
			}
			return
		}
		if !utf8.ValidString(raw) || strings.Contains(raw, "#") || !u.IsAbs() || u.Host == "" || u.User != nil {
			t.Fatalf("accepted %q", raw)
		}
		if _, ok := origin.Of(u); !ok {
			t.Fatalf("accepted %q without an origin", raw)
		}
		switch u.Scheme {
		case "https":
		case "http":
			host, ok := dialedHost(u)
			if !ok {
				t.Fatalf("accepted %q, which net/http does not dial", raw)
			}
			ip, err := netip.ParseAddr(host)
			if !strings.EqualFold(host, "localhost") && (err != nil || !ip.Unmap().IsLoopback()) {
				t.Fatalf("accepted %q over http: net/http dials %q, not a loopback literal", raw, host)
			}
		default:
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
	})
}

// FuzzClip checks that clipped text is safe whatever the input: valid
// UTF-8, no control or bidi formatting characters, within the bound (or
// the marker), unchanged when already safe and short, and otherwise a
// prefix of the sanitised text followed by the marker.
func FuzzClip(f *testing.F) {
	f.Add(strings.Repeat("a", 199)+"€", 200)
	f.Add("line\nforged\x1b[2J\u202e", 1024)
	f.Add("\xff\xfe\xc3", 2)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<16 {
			return
		}
		got := ClipTo(s, limit)
		if !utf8.ValidString(got) || len(got) > max(limit, len(ClipMarker)) {
			t.Fatalf("ClipTo(%q, %d) = %q", s, limit, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || isBidiControl(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("ClipTo kept %U", r)
			}
		}
		safe, _ := sanitize(s, len(s)*3)
		if got != safe && (!strings.HasSuffix(got, ClipMarker) || !strings.HasPrefix(safe, strings.TrimSuffix(got, ClipMarker))) {
			t.Fatalf("ClipTo(%q, %d) = %q is neither the sanitised text nor a cut of it", s, limit, got)
		}
		if safe == s && len(s) <= limit && got != s {
			t.Fatalf("safe short text changed: %q -> %q", s, got)
		}
	})
}
