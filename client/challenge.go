package client

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// challenge is one authentication challenge of a WWW-Authenticate header
// (RFC 9110 §11.6.1): a scheme, lowercased because schemes compare
// case-insensitively (§11.1), and either auth-params (names lowercased for
// the same reason, §11.2) or a token68.
type challenge struct {
	scheme  string
	params  map[string]string
	token68 string
}

// maxChallengeHeader bounds what parseChallenges reads; a real challenge is
// a few hundred bytes.
const maxChallengeHeader = 16 << 10

// parseChallenges parses the WWW-Authenticate field lines of a response:
//
//	WWW-Authenticate = #challenge
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// A list element that does not follow the grammar makes the whole header
// invalid: guessing where a broken challenge ends could attribute its
// parameters to the next one. A parameter named twice in one challenge is
// invalid too (RFC 6750 §3: "MUST NOT appear more than once").
func parseChallenges(lines []string) ([]challenge, error) {
	var out []challenge
	total := 0
	for _, line := range lines {
		if total += len(line); total > maxChallengeHeader {
			return nil, fmt.Errorf("WWW-Authenticate longer than %d bytes", maxChallengeHeader)
		}
		p := &challengeParser{s: line}
		chs, err := p.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, chs...)
	}
	return out, nil
}

type challengeParser struct {
	s   string
	pos int
}

func (p *challengeParser) parse() ([]challenge, error) {
	var out []challenge
	for {
		p.skipListSeparators()
		if p.pos == len(p.s) {
			return out, nil
		}
		scheme := p.token()
		if scheme == "" {
			return nil, p.errorf("expected an auth-scheme")
		}
		ch := challenge{scheme: strings.ToLower(scheme)}
		// The scheme ends the element, or 1*SP separates it from its
		// token68 or auth-params.
		if p.pos < len(p.s) && p.s[p.pos] != ',' {
			if p.s[p.pos] != ' ' {
				return nil, p.errorf("expected a space after the auth-scheme")
			}
			p.skip(" ")
			if err := p.credentials(&ch); err != nil {
				return nil, err
			}
		}
		out = append(out, ch)
	}
}

// credentials reads the token68 or the auth-params after a scheme, up to
// the start of the next challenge.
func (p *challengeParser) credentials(ch *challenge) error {
	if t68, ok := p.token68(); ok {
		ch.token68 = t68
		return nil
	}
	for first := true; ; first = false {
		start := p.pos
		name := p.token()
		p.skip(" \t")
		if p.pos == len(p.s) || p.s[p.pos] != '=' {
			// Not an auth-param. After a comma it is the next challenge's
			// scheme; right after this scheme it is neither grammar.
			p.pos = start
			if first {
				return p.errorf("expected a token68 or an auth-param")
			}
			return nil
		}
		if name == "" {
			return p.errorf("expected an auth-param name")
		}
		p.pos++ // '='
		p.skip(" \t")
		if err := p.param(ch, strings.ToLower(name)); err != nil {
			return err
		}
		p.skip(" \t")
		if p.pos == len(p.s) {
			return nil
		}
		if p.s[p.pos] != ',' {
			return p.errorf("expected a comma after auth-param %q", name)
		}
		p.skipListSeparators()
		if p.pos == len(p.s) {
			return nil
		}
	}
}

func (p *challengeParser) param(ch *challenge, key string) error {
	value, err := p.paramValue()
	if err != nil {
		return err
	}
	if ch.params == nil {
		ch.params = map[string]string{}
	}
	if _, dup := ch.params[key]; dup {
		return p.errorf("auth-param %q appears twice", key)
	}
	ch.params[key] = value
	return nil
}

// token68 reads a token68 (1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
// / "/" ) *"="), which is the whole of the credentials when the list
// element ends after it; "name=value" is an auth-param instead.
func (p *challengeParser) token68() (string, bool) {
	i := p.pos
	for i < len(p.s) && isToken68Char(p.s[i]) {
		i++
	}
	if i == p.pos {
		return "", false
	}
	for i < len(p.s) && p.s[i] == '=' {
		i++
	}
	end := i
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	if i < len(p.s) && p.s[i] != ',' {
		return "", false
	}
	t := p.s[p.pos:end]
	p.pos = i
	return t, true
}

func (p *challengeParser) paramValue() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.quoted()
	}
	v := p.token()
	if v == "" {
		return "", p.errorf("expected a token or a quoted-string")
	}
	return v, nil
}

// quoted reads a quoted-string (RFC 9110 §5.6.4) and returns its content
// with quoted-pairs resolved.
func (p *challengeParser) quoted() (string, error) {
	var b strings.Builder
	for i := p.pos + 1; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), nil
		case c == '\\':
			if i+1 == len(p.s) || !isQuotedPairChar(p.s[i+1]) {
				return "", p.errorf("bad quoted-pair")
			}
			i++
			b.WriteByte(p.s[i])
		case isQDText(c):
			b.WriteByte(c)
		default:
			return "", p.errorf("character %q in a quoted-string", c)
		}
	}
	return "", p.errorf("unterminated quoted-string")
}

func (p *challengeParser) token() string {
	start := p.pos
	for p.pos < len(p.s) && isTChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *challengeParser) skip(set string) {
	for p.pos < len(p.s) && strings.IndexByte(set, p.s[p.pos]) >= 0 {
		p.pos++
	}
}

// skipListSeparators skips OWS and the commas of empty list elements
// (RFC 9110 §5.6.1 lets recipients ignore them).
func (p *challengeParser) skipListSeparators() { p.skip(" \t,") }

func (p *challengeParser) errorf(format string, args ...any) error {
	return errors.New("WWW-Authenticate: " + fmt.Sprintf(format, args...) + fmt.Sprintf(" at byte %d", p.pos))
}

// isTChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// isQDText: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQDText(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5B) || (0x5D <= c && c <= 0x7E) || c >= 0x80
}

// isQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7E) || c >= 0x80
}

// insufficientScope returns the scopes a Bearer insufficient_scope challenge
// names (RFC 6750 §3.1), and whether there is one.
func insufficientScope(lines []string) ([]string, bool) {
	chs, err := parseChallenges(lines)
	if err != nil {
		return nil, false
	}
	for _, ch := range chs {
		if ch.scheme == "bearer" && ch.params["error"] == "insufficient_scope" {
			return strings.Fields(ch.params["scope"]), true
		}
	}
	return nil, false
}

// ChallengeOf reads the challenge of a 401 from its WWW-Authenticate field
// lines: the first Bearer or DPoP challenge (a server that takes only
// DPoP-bound tokens sends only a DPoP one, RFC 9449 §7.1; RFC 9728 §5.1
// defines resource_metadata for any scheme). It returns nil when there is
// none, or the header does not follow RFC 9110 §11.6.1.
func ChallengeOf(lines []string) *Challenge {
	chs, err := parseChallenges(lines)
	if err != nil {
		return nil
	}
	for _, ch := range chs {
		if ch.scheme == "bearer" || ch.scheme == "dpop" {
			return &Challenge{ResourceMetadata: ch.params["resource_metadata"], Scope: ch.params["scope"], Error: ch.params["error"]}
		}
	}
	return nil
}

// BearerChallenge returns the auth-params of the first Bearer challenge in
// the WWW-Authenticate field lines of a response (RFC 6750 §3: error,
// error_description, scope, and MCP's resource_metadata), with lowercase
// names, and whether there is one. A header that does not follow RFC 9110
// §11.6.1 has none.
func BearerChallenge(lines []string) (map[string]string, bool) {
	chs, err := parseChallenges(lines)
	if err != nil {
		return nil, false
	}
	for _, ch := range chs {
		if ch.scheme == "bearer" {
			return maps.Clone(ch.params), true
		}
	}
	return nil, false
}
