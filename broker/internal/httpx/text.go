package httpx

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ClipLen bounds, in bytes, a piece of upstream text [Clip] keeps.
const ClipLen = 200

// ClipMarker ends text that [Clip] or [ClipTo] shortened.
const ClipMarker = "…[cut]"

// Clip makes a piece of upstream-provided text (an error_description, a
// header value, a document member) safe to put into an error message: at
// most [ClipLen] bytes, valid UTF-8, and no control characters, so a
// hostile server can neither flood logs, forge log lines, drive a terminal,
// nor break the gRPC reply that carries the message (proto3 strings must
// be valid UTF-8).
func Clip(s string) string { return ClipTo(s, ClipLen) }

// ClipTo is [Clip] with a bound of limit bytes. Invalid bytes become U+FFFD,
// control and bidirectional-formatting characters become spaces, and text
// that does not fit is cut on a rune boundary and ends with [ClipMarker];
// the result is never longer than limit bytes, or than the marker when
// limit is smaller than the marker.
func ClipTo(s string, limit int) string {
	if fits(s, limit) {
		return s
	}
	safe, whole := sanitize(s, limit)
	if whole {
		return safe
	}
	cut := max(limit-len(ClipMarker), 0)
	for cut > 0 && !utf8.RuneStart(safe[cut]) {
		cut--
	}
	return safe[:cut] + ClipMarker
}

// sanitize returns s with every rune passed through safeRune, stopping
// once the result exceeds max bytes; whole reports that all of s fit.
func sanitize(s string, max int) (out string, whole bool) {
	var b strings.Builder
	for _, r := range s {
		if b.Len() > max {
			return b.String(), false
		}
		b.WriteRune(safeRune(r))
	}
	return b.String(), b.Len() <= max
}

// fits reports whether s can be returned unchanged: short enough and
// already safe.
func fits(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || safeRune(r) != r {
			return false
		}
	}
	return true
}

// safeRune maps a rune that must not reach a log line or terminal to a
// space and an invalid byte (decoded as utf8.RuneError) to U+FFFD.
func safeRune(r rune) rune {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return ' '
	case isBidiControl(r):
		return ' '
	}
	return r
}

// isBidiControl reports the explicit directional formatting characters of
// Unicode UAX #9 §2, which can make a message read differently from what it
// says ("Trojan Source").
func isBidiControl(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' ||
		('\u202a' <= r && r <= '\u202e') || ('\u2066' <= r && r <= '\u2069')
}
