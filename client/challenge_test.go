package client

import (
	"slices"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/wwwauth"
)

func TestInsufficientScope(t *testing.T) {
	got, ok := insufficientScope([]string{`Basic realm="x"`, `Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource"`})
	if !ok || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %v %v", got, ok)
	}
	if _, ok := insufficientScope([]string{`Bearer error="invalid_token"`}); ok {
		t.Error("invalid_token taken for insufficient_scope")
	}
	if _, ok := insufficientScope([]string{strings.Repeat("x", wwwauth.MaxHeader+1)}); ok {
		t.Error("an oversized header was parsed")
	}
	// All or nothing: a broken line anywhere leaves no challenge to act on.
	if _, ok := insufficientScope([]string{`Bearer error="insufficient_scope", scope="a"`, `Basic realm="x`}); ok {
		t.Error("a challenge was taken from a header with a broken line")
	}
}

func TestBearerChallenge(t *testing.T) {
	p, ok := BearerChallenge([]string{`Basic realm="x"`, `Bearer error="invalid_token", error_description="expired", resource_metadata="https://m.example/.well-known/oauth-protected-resource"`})
	if !ok || p["error"] != "invalid_token" || p["error_description"] != "expired" || p["resource_metadata"] == "" {
		t.Errorf("got %v %v", p, ok)
	}
	if _, ok := BearerChallenge([]string{`Basic realm="x"`}); ok {
		t.Error("a Basic challenge taken for Bearer")
	}
}
