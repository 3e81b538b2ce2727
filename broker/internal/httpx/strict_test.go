package httpx

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A host with a trailing dot is a fully qualified DNS name: the resolver
// looks "localhost." and "127.0.0.1." up through DNS instead of taking them
// as the loopback interface, so they do not earn the http exception.
// Neither does a name that only Unicode case folding makes "localhost".
func TestCheckURLLoopbackIsLiteral(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.0./", false},
		{"http://127.0.0.1.:8080/mcp", false},
		{"http://localhost./mcp", false},
		{"http://LOCALHOST./mcp", false},
		{"http://localhoſt/mcp", false},
		{"http://LocalHost:9/mcp", true},
		{"http://[::ffff:127.0.0.1]/", true},
		{"https://localhost./mcp", true},
	}
	for _, tt := range tests {
		_, err := CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

// A URL the broker calls must name a host that can be dialed as written:
// invalid UTF-8 (which IDNA would silently turn into U+FFFD) and names
// IDNA refuses are errors, and the error text itself stays short and valid.
func TestCheckURLRefusesUndialableHosts(t *testing.T) {
	for _, raw := range []string{
		"https://\xff.example/mcp",
		"https://mcp.example/\xff",
		"https://a\u200db.example/",
		"https://" + strings.Repeat("\xfe", 3000) + "/",
	} {
		_, err := CheckURL(raw)
		if err == nil {
			t.Errorf("CheckURL(%.60q) accepted", raw)
			continue
		}
		if msg := err.Error(); !utf8.ValidString(msg) || len(msg) > 400 {
			t.Errorf("CheckURL(%.60q): error text invalid or long (%d bytes): %.200q", raw, len(msg), msg)
		}
	}
	if _, err := CheckURL("https://σ.example/mcp"); err != nil {
		t.Errorf("an internationalised host was refused: %v", err)
	}
}

// An authorization server's error_description of 199 ASCII bytes and a
// euro sign used to be cut inside the euro sign, and the invalid UTF-8 then
// broke the gRPC status reply.
func TestClipCutsOnRuneBoundaries(t *testing.T) {
	s := strings.Repeat("a", 199) + "€" + strings.Repeat("b", 50)
	got := Clip(s)
	if !utf8.ValidString(got) {
		t.Fatalf("Clip produced invalid UTF-8: %q", got[190:])
	}
	if len(got) > ClipLen {
		t.Errorf("Clip kept %d bytes, want at most %d", len(got), ClipLen)
	}
	if !strings.HasSuffix(got, ClipMarker) {
		t.Errorf("clipped text lacks the marker: %q", got[180:])
	}
	if got := Clip("ok\xffthen\xc3"); got != "ok\uFFFDthen\uFFFD" {
		t.Errorf("invalid bytes: got %q", got)
	}
	if got := Clip("a\u0085b\u202ec\u2028d\x7f"); got != "a b c d " {
		t.Errorf("control characters kept: %q", got)
	}
	short := "plain text, ünïcödé"
	if got := Clip(short); got != short {
		t.Errorf("short text changed: %q", got)
	}
}

func TestClipToBound(t *testing.T) {
	for _, n := range []int{0, 1, 5, len(ClipMarker), len(ClipMarker) + 1, 1024} {
		for _, s := range []string{strings.Repeat("€", 2000), strings.Repeat("x", 2000), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
			got := ClipTo(s, n)
			if !utf8.ValidString(got) || len(got) > max(n, len(ClipMarker)) {
				t.Errorf("ClipTo(%d) = %d bytes, valid=%v", n, len(got), utf8.ValidString(got))
			}
		}
	}
}
