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
// misread at a quote, a backslash or a comma.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="files:read files:write"`,
		`DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`,
		`Bearer error="invalid_token", error_description="say \"hi\" \\", Basic realm="x"`,
		"Basic dXNlcjpwYXNz==, Bearer\nBearer realm=r ,, scope=\"a\"\t,",
		`Bearer realm="unterminated`,
		`Bearer scope="a", scope="b"`,
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
