package wwwauth

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []Challenge
	}{
		{"bearer with hints", []string{`Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource", scope="a b"`},
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"resource_metadata": "https://mcp.example/.well-known/oauth-protected-resource", "scope": "a b"}}}},
		{"two challenges in one line", []string{`DPoP algs="ES256 PS256", error="use_dpop_nonce", Bearer realm=x`},
			[]Challenge{
				{Scheme: "dpop", Params: map[string]string{"algs": "ES256 PS256", "error": "use_dpop_nonce"}},
				{Scheme: "bearer", Params: map[string]string{"realm": "x"}},
			}},
		{"case and spacing", []string{"BEARER  Realm = \"r\" ,,  Scope=\"s\"\t, "},
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"realm": "r", "scope": "s"}}}},
		{"escaped quote and backslash", []string{`Bearer error_description="say \"hi\" \\o/", realm="a,b"`},
			[]Challenge{{Scheme: "bearer", Params: map[string]string{"error_description": `say "hi" \o/`, "realm": "a,b"}}}},
		{"token68 then a challenge", []string{`Basic dXNlcg==, Bearer`},
			[]Challenge{{Scheme: "basic", Token68: "dXNlcg=="}, {Scheme: "bearer"}}},
		{"bare scheme", []string{`Negotiate`}, []Challenge{{Scheme: "negotiate"}}},
		{"a bad line does not hide a good one", []string{`Bearer realm="unterminated`, `DPoP algs="ES256"`},
			[]Challenge{{Scheme: "dpop", Params: map[string]string{"algs": "ES256"}}}},
		{"repeated parameter", []string{`Bearer scope="a", scope="b"`}, nil},
		{"quote in a token", []string{`Bearer realm=a"b`}, nil},
		{"control character", []string{"Bearer realm=\"a\x01b\""}, nil},
		{"parameter without a scheme", []string{`realm="x"`}, nil},
		{"empty value", []string{`Bearer a=b, c=`}, nil},
		{"token68 that looks like a parameter", []string{`Bearer realm=`}, []Challenge{{Scheme: "bearer", Token68: "realm="}}},
		{"no space after the scheme", []string{`Bearer,realm="x"`}, nil},
		{"empty line", []string{""}, nil},
	}
	for _, tt := range tests {
		if got := Parse(tt.lines); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Parse(%q)\n got %#v\nwant %#v", tt.name, tt.lines, got, tt.want)
		}
	}
}

// TestParseAll: one list, all or nothing, within MaxHeader.
func TestParseAll(t *testing.T) {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		in   []string
		want []Challenge
		bad  bool
	}{
		{in: []string{`Bearer error="insufficient_scope", scope="a b"`},
			want: []Challenge{{Scheme: "bearer", Params: p("error", "insufficient_scope", "scope", "a b")}}},
		// RFC 9110 §11.6.1's example: two challenges in one field.
		{in: []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			want: []Challenge{
				{Scheme: "newauth", Params: p("realm", "apps", "type", "1", "title", `Login to "apps"`)},
				{Scheme: "basic", Params: p("realm", "simple")},
			}},
		{in: []string{`Bearer, Basic realm=x`}, want: []Challenge{{Scheme: "bearer"}, {Scheme: "basic", Params: p("realm", "x")}}},
		{in: []string{`Negotiate abc+/==, Bearer`}, want: []Challenge{{Scheme: "negotiate", Token68: "abc+/=="}, {Scheme: "bearer"}}},
		{in: []string{`BEARER Scope = "x" ,, `}, want: []Challenge{{Scheme: "bearer", Params: p("scope", "x")}}},
		{in: []string{`Bearer scope="a, b", error=invalid_token`}, want: []Challenge{{Scheme: "bearer", Params: p("scope", "a, b", "error", "invalid_token")}}},
		{in: []string{`Basic realm="x"`, `DPoP algs="ES256"`}, want: []Challenge{{Scheme: "basic", Params: p("realm", "x")}, {Scheme: "dpop", Params: p("algs", "ES256")}}},
		{in: []string{`Bearer error="a", error="b"`}, bad: true},
		{in: []string{`Bearer scope="unterminated`}, bad: true},
		{in: []string{`Bearer scope="bad \` + "\x01" + `"`}, bad: true},
		{in: []string{`"Bearer"`}, bad: true},
		{in: []string{`Bearer a!b`}, bad: true},
		{in: []string{"Bearer\trealm=x"}, bad: true},
		{in: []string{`Bearer realm=x y`}, bad: true},
		{in: []string{`Bearer =x`}, bad: true},
		{in: []string{`DPoP algs="ES256"`, `Bearer realm="unterminated`}, bad: true},
		{in: []string{`Bearer realm="` + strings.Repeat("r", MaxHeader) + `"`}, bad: true},
	}
	for _, tt := range tests {
		got, ok := ParseAll(tt.in)
		if tt.bad {
			if ok {
				t.Errorf("%q: parsed as %+v, want it refused", tt.in, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v (%v)\nwant %+v", tt.in, got, ok, tt.want)
		}
	}
}

// format writes challenges back in a canonical form: every parameter as a
// quoted-string, in name order. Parse(format(cs)) must give cs again.
func format(cs []Challenge) string {
	var parts []string
	for _, c := range cs {
		s := c.Scheme
		switch {
		case c.Token68 != "":
			s += " " + c.Token68
		case len(c.Params) > 0:
			names := make([]string, 0, len(c.Params))
			for n := range c.Params {
				names = append(names, n)
			}
			sort.Strings(names)
			var ps []string
			for _, n := range names {
				v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.Params[n])
				ps = append(ps, n+`="`+v+`"`)
			}
			s += " " + strings.Join(ps, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
