package origin

import (
	"net/url"
	"testing"
)

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSame(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://mcp.example/a", "https://MCP.EXAMPLE:443/b?x", true},
		{"http://mcp.example", "http://mcp.example:80/", true},
		{"https://mcp.example:0443/", "https://mcp.example/", true},
		{"https://mcp.example/", "http://mcp.example/", false},
		{"https://mcp.example:8443/", "https://mcp.example/", false},
		{"https://mcp.example./", "https://mcp.example/", false},
		// IDNA 2008 keeps final sigma apart from sigma; Unicode case
		// folding would join them although they resolve apart.
		{"https://σ.example/", "https://ς.example/", false},
		{"https://Σ.example/", "https://σ.example/", true},
		{"https://σ.example/", "https://xn--4xa.example/", true},
		{"https://ς.example/", "https://xn--3xa.example/", true},
		// The Kelvin sign is not the letter k in DNS; IDNA maps it, so
		// both reach the same host.
		{"https://\u212a.example/", "https://k.example/", true},
		{"https://[::1]:8080/", "https://[::1]:8080/x", true},
		{"https://mcp.example:99999/", "https://mcp.example:99999/", false},
		{"https://\xff.example/", "https://\xff.example/", false},
		{"https://a\u200db.example/", "https://a\u200db.example/", false},
		// url.Parse keeps a stray bracket in the host; nothing dials it.
		{"http://127.0.0.1]/", "http://127.0.0.1]/", false},
	}
	for _, tt := range tests {
		a, b := mustParse(t, tt.a), mustParse(t, tt.b)
		if got := Same(a, b); got != tt.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Same(b, a); got != tt.want {
			t.Errorf("Same(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
	if Same(nil, mustParse(t, "https://a/")) || Same(mustParse(t, "/relative"), mustParse(t, "/relative")) {
		t.Error("a URL without a host has an origin")
	}
}

func TestHostKeepsASCIINamesAsDialed(t *testing.T) {
	// Intranet names need not be valid IDNA labels: an underscore is
	// refused by STD3 rules but dialed as is, so ASCII hosts skip IDNA.
	for _, h := range []string{"my_host.corp", "xn--zz", "127.0.0.1", "::1"} {
		if got, ok := Host(h); !ok || got != h {
			t.Errorf("Host(%q) = %q, %v", h, got, ok)
		}
	}
}
