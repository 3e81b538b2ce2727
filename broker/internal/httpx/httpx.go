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
	"unicode/utf8"

	"github.com/xaad-dev/xaad/internal/origin"
)

// MaxBody caps every response body the broker reads. Metadata documents and
// token responses are a few KiB; 1 MiB leaves room for large JWKS while a
// hostile server cannot make the daemon buffer without bound.
const MaxBody = 1 << 20

// ErrTooLarge reports a response body over [MaxBody].
var ErrTooLarge = errors.New("response body exceeds 1 MiB")

// CheckURL parses raw and reports an error unless it is an absolute https
// URL, or an http URL whose host is the loopback interface itself (tests
// and the demo; see [IsLoopbackHost]). Userinfo and fragments are refused:
// neither belongs in an OAuth endpoint or resource identifier (RFC 8707 §2,
// RFC 9728 §1.2). So are URLs that are not valid UTF-8 and hosts that IDNA
// refuses (RFC 5891 §5): neither can be dialed as written.
func CheckURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	if !utf8.ValidString(raw) {
		return nil, fmt.Errorf("URL %q is not valid UTF-8", Clip(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which is quoted clipped
		}
		return nil, fmt.Errorf("malformed URL %q: %s", Clip(raw), Clip(err.Error()))
	}
	if !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not absolute", Clip(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q carries user information", Clip(redactUser(u)))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("URL %q has a fragment", Clip(raw))
	}
	if _, ok := origin.Of(u); !ok {
		return nil, fmt.Errorf("URL %q: the host or port cannot be dialed (not a valid host name, or not a port number)", Clip(raw))
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("URL %q uses http; only https is allowed (http only for loopback addresses)", Clip(raw))
	default:
		return nil, fmt.Errorf("URL %q has scheme %q; only https is allowed", Clip(raw), Clip(u.Scheme))
	}
}

// redactUser drops the password of u for an error message.
func redactUser(u *url.URL) string {
	c := *u
	c.User = url.User(u.User.Username())
	return c.String()
}

// IsLoopbackHost reports whether host (without port) is the loopback
// interface itself: "localhost" in any ASCII case (RFC 6761 §6.3 reserves
// it) or a loopback IP literal. A trailing dot makes a fully qualified DNS
// name that the resolver sends to DNS ("localhost.", even "127.0.0.1."),
// and only ASCII case counts, so neither earns the http exception.
func IsLoopbackHost(host string) bool {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if len(host) == len("localhost") && asciiEqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// asciiEqualFold is strings.EqualFold for ASCII only: Unicode folding
// would make "localhoſt" (long s) equal to "localhost".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
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
