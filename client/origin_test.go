package client

import (
	"net/url"
	"testing"
)

// Unicode case folding joins σ and ς, but IDNA 2008 keeps them apart and a
// dialer connects to two different hosts: a token for one must not go to
// the other.
func TestSameOriginComparesDialedHosts(t *testing.T) {
	for _, tc := range []struct {
		url, resource string
		want          bool
	}{
		{"https://ς.example/mcp", "https://σ.example/mcp", false},
		{"https://xn--4xa.example/mcp", "https://σ.example/mcp", true},
		{"https://\u212a.example/mcp", "https://k.example/mcp", true},
		{"https://mcp.example./mcp", "https://mcp.example/mcp", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := SameOrigin(u, tc.resource); got != tc.want {
			t.Errorf("SameOrigin(%s, %s) = %v, want %v", tc.url, tc.resource, got, tc.want)
		}
	}
}
