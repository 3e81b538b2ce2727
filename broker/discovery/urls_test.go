package discovery

import (
	"net/url"
	"slices"
	"testing"
)

func TestASMetadataURLs(t *testing.T) {
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://as.example.com", []string{
			"https://as.example.com/.well-known/oauth-authorization-server",
			"https://as.example.com/.well-known/openid-configuration",
		}},
		{"https://as.example.com/", []string{
			"https://as.example.com/.well-known/oauth-authorization-server",
			"https://as.example.com/.well-known/openid-configuration",
		}},
		{"https://as.example.com/tenant1", []string{
			"https://as.example.com/.well-known/oauth-authorization-server/tenant1",
			"https://as.example.com/.well-known/openid-configuration/tenant1",
			"https://as.example.com/tenant1/.well-known/openid-configuration",
		}},
	}
	for _, tt := range tests {
		got, err := ASMetadataURLs(tt.issuer)
		if err != nil {
			t.Fatalf("%s: %v", tt.issuer, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.issuer, got, tt.want)
		}
	}
	if _, err := ASMetadataURLs("http://as.example.com"); err == nil {
		t.Error("non-loopback http issuer accepted")
	}
}

func TestWellKnownPRM(t *testing.T) {
	u, _ := url.Parse("https://mcp.example.com/api/mcp")
	want := []string{
		"https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp",
		"https://mcp.example.com/.well-known/oauth-protected-resource",
	}
	if got := wellKnownPRM(u); !slices.Equal(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	u, _ = url.Parse("https://mcp.example.com")
	if got := wellKnownPRM(u); len(got) != 1 {
		t.Errorf("root server: got %q", got)
	}
}
