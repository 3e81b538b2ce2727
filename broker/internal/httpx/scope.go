package httpx

import "strings"

// ValidScope reports whether s is one RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, double
// quote and backslash. Scopes travel in form bodies, in JSON and in
// WWW-Authenticate quoted strings, and are shown to users; anything else is
// a malformed answer, not a scope.
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidScopes reports whether every element of scopes is a [ValidScope].
func ValidScopes(scopes []string) bool {
	for _, s := range scopes {
		if !ValidScope(s) {
			return false
		}
	}
	return true
}

// SplitScope splits a scope string at its %x20 delimiters (RFC 6749 §3.3;
// not at other white space, which is no delimiter there) and reports
// whether every element is a valid scope-token.
func SplitScope(s string) ([]string, bool) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
	return f, ValidScopes(f)
}
