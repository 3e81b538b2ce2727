package httpx

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://mcp.example.com/mcp", true},
		{"http://127.0.0.1:8080/mcp", true},
		{"http://localhost/mcp", true},
		{"http://[::1]:9/x", true},
		{"http://127.8.0.1/", true},
		{"http://mcp.example.com/mcp", false},
		{"http://10.0.0.1/mcp", false},
		{"ftp://example.com/", false},
		{"javascript:alert(1)", false},
		{"/relative", false},
		{"", false},
		{"https://user:pw@example.com/", false},
		{"https://example.com/#frag", false},
		{"https://exa mple.com/", false},
	}
	for _, tt := range tests {
		_, err := CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestReadBodyCap(t *testing.T) {
	b, err := ReadBody(strings.NewReader(strings.Repeat("a", MaxBody)))
	if err != nil || len(b) != MaxBody {
		t.Fatalf("exactly MaxBody: len %d err %v", len(b), err)
	}
	if _, err := ReadBody(strings.NewReader(strings.Repeat("a", MaxBody+1))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxBody+1: err %v, want ErrTooLarge", err)
	}
}

func TestClip(t *testing.T) {
	got := Clip("line1\nfake log line\x1b[31m" + strings.Repeat("x", 300))
	if strings.ContainsAny(got, "\n\x1b") {
		t.Errorf("control characters kept: %q", got)
	}
	if len(got) > 210 {
		t.Errorf("not clipped: %d bytes", len(got))
	}
}
