// Package wwwauth parses WWW-Authenticate header fields (RFC 9110 §11.6.1)
// strictly, by the grammar of RFC 9110 §11:
//
//	challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param  = token BWS "=" BWS ( token / quoted-string )
//	token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// with challenges and parameters in comma-separated lists (RFC 9110 §5.6.1,
// empty elements allowed). A field line that breaks the grammar yields no
// challenge at all: a half-read challenge could lend one challenge's
// parameter to another.
package wwwauth

import "strings"

// Challenge is one parsed challenge.
type Challenge struct {
	// Scheme is the auth-scheme in lower case (RFC 9110 §11.1: schemes are
	// case-insensitive).
	Scheme string
	// Token68 is the token68 form of the credentials, if the challenge
	// used it instead of parameters.
	Token68 string
	// Params maps lower-case parameter names (case-insensitive, RFC 9110
	// §11.2) to their values, quoted-strings unquoted. Each name occurs
	// once: RFC 9110 §11.2 requires it, and a challenge repeating one is
	// refused.
	Params map[string]string
}

// Parse parses the field lines of a WWW-Authenticate header, in order.
// Each line is parsed on its own, so one malformed line does not hide the
// challenges of another: discovery takes what hints it can (see ParseAll
// for the all-or-nothing form).
func Parse(lines []string) []Challenge {
	var out []Challenge
	for _, l := range lines {
		if chs, ok := parseLine(l); ok {
			out = append(out, chs...)
		}
	}
	return out
}

// MaxHeader bounds what ParseAll reads; a real WWW-Authenticate header is
// a few hundred bytes.
const MaxHeader = 16 << 10

// ParseAll parses the field lines of a WWW-Authenticate header as one
// list, all or nothing: ok is false if any line breaks the grammar or the
// lines together exceed MaxHeader. A client acting on a challenge uses it,
// because guessing where a broken challenge ends could attribute its
// parameters to the next one.
func ParseAll(lines []string) (_ []Challenge, ok bool) {
	var out []Challenge
	total := 0
	for _, l := range lines {
		if total += len(l); total > MaxHeader {
			return nil, false
		}
		chs, ok := parseLine(l)
		if !ok {
			return nil, false
		}
		out = append(out, chs...)
	}
	return out, true
}

type parser struct {
	s string
	i int
}

func parseLine(s string) ([]Challenge, bool) {
	p := &parser{s: s}
	var out []Challenge
	for {
		p.skipListSeparators()
		if p.eof() {
			return out, true
		}
		scheme := p.token()
		if scheme == "" {
			return nil, false
		}
		ch := Challenge{Scheme: lower(scheme)}
		spaces := p.skipSP()
		if p.eof() || p.peek() == ',' {
			out = append(out, ch)
			continue
		}
		if spaces == 0 || !p.body(&ch) {
			return nil, false
		}
		out = append(out, ch)
	}
}

// body parses what follows a scheme and its spaces: auth-params or a
// token68, up to the end of the challenge.
func (p *parser) body(ch *Challenge) bool {
	if p.paramAhead() {
		return p.params(ch)
	}
	start := p.i
	for !p.eof() && isToken68Char(p.peek()) {
		p.i++
	}
	if p.i == start {
		return false
	}
	for !p.eof() && p.peek() == '=' {
		p.i++
	}
	ch.Token68 = p.s[start:p.i]
	p.skipOWS()
	return p.eof() || p.peek() == ','
}

// params parses a list of auth-params. It stops, with the position at a
// comma, where the next list element is not a parameter but a new
// challenge.
func (p *parser) params(ch *Challenge) bool {
	ch.Params = map[string]string{}
	for {
		name := lower(p.token())
		p.skipOWS()
		p.i++ // the "=" paramAhead saw
		p.skipOWS()
		var value string
		if !p.eof() && p.peek() == '"' {
			v, ok := p.quoted()
			if !ok {
				return false
			}
			value = v
		} else if value = p.token(); value == "" {
			return false
		}
		if _, dup := ch.Params[name]; dup {
			return false
		}
		ch.Params[name] = value
		p.skipOWS()
		if p.eof() {
			return true
		}
		if p.peek() != ',' {
			return false
		}
		comma := p.i
		p.skipListSeparators()
		if p.eof() {
			return true
		}
		if !p.paramAhead() {
			p.i = comma
			return true
		}
	}
}

// paramAhead reports whether an auth-param starts at the position: a
// token, BWS, "=", BWS and the start of a token or quoted-string. A
// token68 ending in "=" is followed by none of those.
func (p *parser) paramAhead() bool {
	save := p.i
	defer func() { p.i = save }()
	if p.token() == "" {
		return false
	}
	p.skipOWS()
	if p.eof() || p.peek() != '=' {
		return false
	}
	p.i++
	p.skipOWS()
	return !p.eof() && (p.peek() == '"' || isTchar(p.peek()))
}

// quoted reads a quoted-string (RFC 9110 §5.6.4) and returns it unquoted.
func (p *parser) quoted() (string, bool) {
	p.i++ // the opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '"':
			p.i++
			return b.String(), true
		case c == '\\':
			if p.i+1 >= len(p.s) || !isQuotedPairChar(p.s[p.i+1]) {
				return "", false
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case isQdtext(c):
			b.WriteByte(c)
			p.i++
		default:
			return "", false
		}
	}
	return "", false
}

func (p *parser) token() string {
	start := p.i
	for !p.eof() && isTchar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) skipSP() int {
	n := 0
	for !p.eof() && p.peek() == ' ' {
		p.i++
		n++
	}
	return n
}

func (p *parser) skipOWS() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

func (p *parser) skipListSeparators() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t' || p.peek() == ',') {
		p.i++
	}
}

func (p *parser) eof() bool  { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }

// isTchar reports a token character (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
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

// isQdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c <= 0x7e) || c >= 0x80
}

// isQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || (0x21 <= c && c <= 0x7e) || c >= 0x80
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
