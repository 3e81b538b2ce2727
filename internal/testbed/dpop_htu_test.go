package testbed

import "testing"

// TestNormalizeHTU: RFC 3986 §6.2.2 and §6.2.3 normalisation, as RFC 9449
// §4.3 advises before comparing htu.
func TestNormalizeHTU(t *testing.T) {
	same := [][2]string{
		{"https://server.example.com/token", "HTTPS://SERVER.example.COM/token"},
		{"https://server.example.com/token", "https://server.example.com:443/token"},
		{"http://127.0.0.1/", "http://127.0.0.1:80"},
		{"http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080/a/./c/../b"},
		{"https://rs.example/%7Euser", "https://rs.example/~user"},
		{"https://rs.example/a%2fb", "https://rs.example/a%2Fb"},
		{"https://rs.example/mcp", "https://rs.example/mcp?q=1#f"},
		{"https://[::1]/x", "https://[::1]:443/x"},
	}
	for _, p := range same {
		a, err1 := normalizeHTU(p[0])
		b, err2 := normalizeHTU(p[1])
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%q and %q: %q (%v) != %q (%v)", p[0], p[1], a, err1, b, err2)
		}
	}
	different := [][2]string{
		{"https://rs.example/mcp", "http://rs.example/mcp"},
		{"https://rs.example/mcp", "https://rs.example:8443/mcp"},
		{"https://rs.example/mcp", "https://rs.example/MCP"},
		{"https://rs.example/mcp", "https://rs.example/mcp/"},
		{"https://rs.example/a%2Fb", "https://rs.example/a/b"},
		{"https://rs.example/mcp", "https://other.example/mcp"},
	}
	for _, p := range different {
		a, _ := normalizeHTU(p[0])
		b, _ := normalizeHTU(p[1])
		if a == b {
			t.Errorf("%q and %q both normalise to %q", p[0], p[1], a)
		}
	}
	for _, bad := range []string{"", "/relative", "ftp://rs.example/", "https://user@rs.example/", "https:///path", "https://rs.example/%zz", "mailto:a@b"} {
		if got, err := normalizeHTU(bad); err == nil {
			t.Errorf("normalizeHTU(%q) = %q, want an error", bad, got)
		}
	}
	for in, want := range map[string]string{
		"/a/b/c/./../../g": "/a/g", "mid/content=5/../6": "mid/6", "/..": "/", "/a/..": "/", "/a/b/..": "/a/",
		"/../a": "/a", "/./a": "/a", ".": "", "": "",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}
