package client

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		in   string
		want []challenge
		bad  bool
	}{
		{in: `Bearer error="insufficient_scope", scope="a b"`,
			want: []challenge{{scheme: "bearer", params: map[string]string{"error": "insufficient_scope", "scope": "a b"}}}},
		// RFC 9110 §11.6.1's example: two challenges in one field.
		{in: `Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
			want: []challenge{
				{scheme: "newauth", params: map[string]string{"realm": "apps", "type": "1", "title": `Login to "apps"`}},
				{scheme: "basic", params: map[string]string{"realm": "simple"}},
			}},
		{in: `Bearer`, want: []challenge{{scheme: "bearer"}}},
		{in: `Bearer, Basic realm=x`, want: []challenge{{scheme: "bearer"}, {scheme: "basic", params: map[string]string{"realm": "x"}}}},
		{in: `Negotiate abc+/==, Bearer`, want: []challenge{{scheme: "negotiate", token68: "abc+/=="}, {scheme: "bearer"}}},
		{in: `BEARER Scope = "x" ,, `, want: []challenge{{scheme: "bearer", params: map[string]string{"scope": "x"}}}},
		{in: `Bearer scope="a, b", error=invalid_token`, want: []challenge{{scheme: "bearer", params: map[string]string{"scope": "a, b", "error": "invalid_token"}}}},
		{in: `Bearer error="a", error="b"`, bad: true},
		{in: `Bearer scope="unterminated`, bad: true},
		{in: `Bearer scope="bad \` + "\x01" + `"`, bad: true},
		{in: `"Bearer"`, bad: true},
		{in: `Bearer a!b`, bad: true},
		{in: `Bearer` + "\t" + `realm=x`, bad: true},
		{in: `Bearer realm=x y`, bad: true},
		{in: `Bearer =x`, bad: true},
	}
	for _, tt := range tests {
		got, err := parseChallenges([]string{tt.in})
		if tt.bad {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v (%v)\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestInsufficientScope(t *testing.T) {
	got, ok := insufficientScope([]string{`Basic realm="x"`, `Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource"`})
	if !ok || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %v %v", got, ok)
	}
	if _, ok := insufficientScope([]string{`Bearer error="invalid_token"`}); ok {
		t.Error("invalid_token taken for insufficient_scope")
	}
	if _, ok := insufficientScope([]string{strings.Repeat("x", maxChallengeHeader+1)}); ok {
		t.Error("an oversized header was parsed")
	}
}

// formatChallenges writes challenges in the canonical form: every parameter
// value quoted, parameters sorted.
func formatChallenges(chs []challenge) string {
	var parts []string
	for _, ch := range chs {
		s := ch.scheme
		switch {
		case ch.token68 != "":
			s += " " + ch.token68
		case len(ch.params) > 0:
			var ps []string
			for _, k := range slices.Sorted(maps.Keys(ch.params)) {
				v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(ch.params[k])
				ps = append(ps, k+`="`+v+`"`)
			}
			s += " " + strings.Join(ps, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// FuzzParseChallenges: whatever parses has token scheme and parameter names
// and survives formatting and parsing again unchanged, so no input can make
// the parser attribute a parameter to the wrong challenge or drop one.
func FuzzParseChallenges(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		chs, err := parseChallenges([]string{in})
		if err != nil {
			return
		}
		for _, ch := range chs {
			if !isToken(ch.scheme) || ch.scheme != strings.ToLower(ch.scheme) {
				t.Fatalf("scheme %q is not a lowercase token", ch.scheme)
			}
			if ch.token68 != "" && len(ch.params) > 0 {
				t.Fatalf("challenge %+v has both a token68 and parameters", ch)
			}
			for k := range ch.params {
				if !isToken(k) || k != strings.ToLower(k) {
					t.Fatalf("parameter name %q is not a lowercase token", k)
				}
			}
		}
		again, err := parseChallenges([]string{formatChallenges(chs)})
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", formatChallenges(chs), in, err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(chs)) {
			t.Fatalf("%q parsed as %+v; its canonical form as %+v", in, chs, again)
		}
	})
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isTChar(s[i]) {
			return false
		}
	}
	return true
}

// normalize makes an empty params map and a nil one compare equal.
func normalize(chs []challenge) []challenge {
	out := slices.Clone(chs)
	for i := range out {
		if len(out[i].params) == 0 {
			out[i].params = nil
		}
	}
	return out
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
