package auditlog

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that is not printable (by
// unicode.IsPrint: control characters, line and paragraph separators,
// bidirectional and other format characters) written as a Go escape
// (\n, \x1b, \u202e), each byte of invalid UTF-8 as \xHH, and a backslash
// as \\. The result is one line of printable text that strconv.Unquote
// turns back into s exactly. When it would be longer than max bytes (max >
// 0) it is cut at a character boundary, never inside an escape, and ends
// with the marker \…[+N bytes], N counting the bytes of s left out; the
// marker cannot come from escaped text, where a backslash that starts an
// escape is always followed by one of \ x u U n r t.
// A max below 32 may not leave room for the marker.
func Escape(s string, max int) string {
	if max > 0 && len(s) <= max && isPlain(s) {
		return s
	}
	var b strings.Builder
	reserve := len(marker(len(s)))
	fitB, fitIn := 0, 0 // the longest prefix that leaves room for a marker
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := escapeRune(s[i:i+size], r)
		if max > 0 && b.Len()+len(piece) > max {
			out := b.String()[:fitB]
			return out + marker(len(s)-fitIn)
		}
		b.WriteString(piece)
		i += size
		if b.Len() <= max-reserve {
			fitB, fitIn = b.Len(), i
		}
	}
	return b.String()
}

func marker(left int) string { return `\…[+` + strconv.Itoa(left) + ` bytes]` }

// isPlain reports whether s needs no escaping.
func isPlain(s string) bool {
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// escapeRune escapes one character; raw is its bytes in the input.
func escapeRune(raw string, r rune) string {
	switch {
	case r == '\\':
		return `\\`
	case r == utf8.RuneError && len(raw) == 1:
		return `\x` + hex2(raw[0])
	case unicode.IsPrint(r):
		return raw
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r == '\t':
		return `\t`
	case r < 0x80:
		return `\x` + hex2(byte(r))
	case r <= 0xffff:
		return `\u` + pad(strconv.FormatInt(int64(r), 16), 4)
	default:
		return `\U` + pad(strconv.FormatInt(int64(r), 16), 8)
	}
}

func hex2(b byte) string { return pad(strconv.FormatInt(int64(b), 16), 2) }

func pad(h string, n int) string { return strings.Repeat("0", n-len(h)) + h }

// Printable escapes what [Escape] escapes except the backslash, so it is
// the identity on text Escape produced, and any other text comes out as
// printable characters only.
func Printable(s string) string {
	if isPlainOrBackslash(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\\' {
			b.WriteByte('\\')
		} else {
			b.WriteString(escapeRune(s[i:i+size], r))
		}
		i += size
	}
	return b.String()
}

func isPlainOrBackslash(s string) bool {
	for _, r := range s {
		if r != '\\' && (r == utf8.RuneError || !unicode.IsPrint(r)) {
			return false
		}
	}
	return true
}
