package wwwauth

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks the parser against the grammar it implements: whatever
// it returns has a lower-case token scheme, either a token68 or
// lower-case token parameter names, and survives a round trip through the
// canonical form (every value quoted) unchanged, so no value was
// misread at a quote, a backslash or a comma. ParseAll, the client's
// all-or-nothing form, accepts exactly the headers whose every line
// parses and that fit in MaxHeader, and then gives what Parse gives.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="files:read files:write"`,
		`DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`,
		`Bearer error="invalid_token", error_description="say \"hi\" \\", Basic realm="x"`,
		"Basic dXNlcjpwYXNz==, Bearer\nBearer realm=r ,, scope=\"a\"\t,",
		`Bearer realm="unterminated`,
		`Bearer scope="a", scope="b"`,
		"DPoP algs=\"ES256\"\nBearer realm=\"unterminated",
		"Bearer error=\"insufficient_scope\", scope=\"a b\"\n\nBasic realm=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := Parse(strings.Split(header, "\n"))
		for _, c := range got {
			if c.Scheme == "" || c.Scheme != lower(c.Scheme) || !allTchars(c.Scheme) {
				t.Fatalf("scheme %q", c.Scheme)
			}
			if c.Token68 != "" && c.Params != nil {
				t.Fatalf("both a token68 and parameters: %#v", c)
			}
			for n := range c.Params {
				if n == "" || n != lower(n) || !allTchars(n) {
					t.Fatalf("parameter name %q", n)
				}
			}
		}
		var again []Challenge
		for _, line := range strings.Split(header, "\n") {
			again = append(again, Parse([]string{format(Parse([]string{line}))})...)
		}
		if len(got) != len(again) || (len(got) > 0 && !reflect.DeepEqual(got, again)) {
			t.Fatalf("round trip changed the challenges:\n got %#v\nthen %#v", got, again)
		}

		lines := strings.Split(header, "\n")
		all, ok := ParseAll(lines)
		want := len(header)-(len(lines)-1) <= MaxHeader
		for _, l := range lines {
			if _, lineOK := parseLine(l); !lineOK {
				want = false
			}
		}
		if ok != want {
			t.Fatalf("ParseAll ok = %v, want %v (every line valid and within %d bytes)", ok, want, MaxHeader)
		}
		if ok && (len(all) != len(got) || (len(all) > 0 && !reflect.DeepEqual(all, got))) {
			t.Fatalf("ParseAll and Parse differ on a valid header:\n all %#v\nParse %#v", all, got)
		}
		if !ok && all != nil {
			t.Fatalf("ParseAll refused the header but returned %#v", all)
		}
	})
}

func allTchars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}
