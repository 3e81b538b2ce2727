// Package httpx holds the small HTTP rules every upstream call of the broker
// follows: which URLs may be called, how much of a response is read, and how
// redirects are treated.
package httpx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// MaxBody caps every response body the broker reads. Metadata documents and
// token responses are a few KiB; 1 MiB leaves room for large JWKS while a
// hostile server cannot make the daemon buffer without bound.
const MaxBody = 1 << 20

// ErrTooLarge reports a response body over [MaxBody].
var ErrTooLarge = errors.New("response body exceeds 1 MiB")

// CheckURL parses raw and reports an error unless it is an absolute https
// URL, or an http URL whose host is a loopback address (tests and the demo).
// Userinfo and fragments are refused: neither belongs in an OAuth endpoint
// or resource identifier (RFC 8707 §2, RFC 9728 §1.2).
func CheckURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed URL %q: %v", raw, err)
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not absolute", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q carries user information", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("URL %q has a fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("URL %q uses http; only https is allowed (http only for loopback addresses)", raw)
	default:
		return nil, fmt.Errorf("URL %q has scheme %q; only https is allowed", raw, u.Scheme)
	}
}

// IsLoopbackHost reports whether host (without port) names the loopback
// interface. "localhost" counts because RFC 6761 §6.3 reserves it.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// ReadBody reads at most MaxBody bytes of r and fails with ErrTooLarge if
// there is more, so a truncated document is never parsed as if whole.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return nil, ErrTooLarge
	}
	return b, nil
}

// IsJSON reports whether the response declares a JSON media type
// (application/json or any +json suffix).
func IsJSON(h http.Header) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(h.Get("Content-Type"), ";", 2)[0]))
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// IsTransient reports whether err is a network failure or timeout, which
// deserves a retry later, as opposed to a protocol answer.
func IsTransient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// Clip shortens an upstream-provided string for use in error messages and
// drops control characters, so a hostile server cannot flood logs or forge
// log lines through error_description.
func Clip(s string) string {
	const max = 200
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
