// Package origin compares URL origins (RFC 6454 §4: scheme, host, port) by
// the host a dialer actually connects to, so that two URLs count as one
// origin only when a request to either reaches the same place.
//
// It is a leaf package shared by the client package and the broker; it
// imports nothing of the module.
package origin

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Host returns the form of host that a dialer resolves, for comparison:
// ASCII hosts lowercased (DNS compares ASCII case-insensitively, RFC 4343),
// other hosts through IDNA (UTS #46 lookup processing, which net/http
// applies before dialing; RFC 5891 §5) and then lowercased. Unicode case
// folding is never applied: "σ.example" and "ς.example" fold together but
// are different names in IDNA 2008 and resolve apart. ok is false for an
// empty host, invalid UTF-8, a stray bracket, or a name IDNA refuses; such a host has no
// origin and matches nothing.
func Host(host string) (string, bool) {
	if host == "" || !utf8.ValidString(host) {
		return "", false
	}
	// url.URL.Hostname strips one bracket pair around an IPv6 literal; a
	// bracket left over ("127.0.0.1]") is a host no dialer can reach.
	if strings.ContainsAny(host, "[]") {
		return "", false
	}
	if isASCII(host) {
		return asciiLower(host), true
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil || a == "" || !isASCII(a) {
		return "", false
	}
	return asciiLower(a), true
}

// Of returns the origin of u as "scheme://host:port", with the scheme's
// default port made explicit (RFC 6454 §4 step 5) and the host as [Host]
// gives it. ok is false when u has no host, the host fails [Host], or the
// port is not a number from 0 to 65535.
func Of(u *url.URL) (string, bool) {
	if u == nil || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	host, ok := Host(u.Hostname())
	if !ok {
		return "", false
	}
	scheme := asciiLower(u.Scheme)
	port, ok := effectivePort(scheme, u.Port())
	if !ok {
		return "", false
	}
	return scheme + "://" + net.JoinHostPort(host, port), true
}

// Same reports whether a and b have the same origin. A URL without an
// origin (see [Of]) is the same as nothing, not even itself.
func Same(a, b *url.URL) bool {
	oa, ok := Of(a)
	if !ok {
		return false
	}
	ob, ok := Of(b)
	return ok && oa == ob
}

// effectivePort returns the port a dialer uses, as a canonical decimal
// number, so "0443" and "443" are one port.
func effectivePort(scheme, port string) (string, bool) {
	if port == "" {
		switch scheme {
		case "http":
			return "80", true
		case "https":
			return "443", true
		}
		return "", true
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiLower lowercases ASCII letters only; strings.ToLower would also map
// non-ASCII runes (the Kelvin sign to "k"), which is not what DNS does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
