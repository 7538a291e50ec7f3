package event

// Unquoting turns a JSON string as written on the wire into Go text. It is
// stricter than encoding/json: a string it would repair (invalid UTF-8, a
// lone surrogate escape) is refused, because two different ids repaired
// into the same U+FFFD text would collide and one event be dropped as a
// duplicate.

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Rules a string member breaks in decodeString.
const (
	ruleNotString = "must be a string"
	// ruleNotText is for strings that encoding/json would quietly repair
	// with U+FFFD: different ids would then collapse into one (and later
	// events be dropped as duplicates), so they are refused instead.
	ruleNotText = "not valid Unicode text (invalid UTF-8, or a \\uD800-\\uDFFF escape without its pair)"
)

// decodeString returns the JSON string raw (a checked JSON value) as Go
// text, with its escapes resolved. It returns the rule raw breaks instead
// if raw is not a string (ruleNotString), or if it holds invalid UTF-8 or
// a surrogate escape without its other half (ruleNotText).
func decodeString(raw []byte) (string, string) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", ruleNotString
	}
	inner := raw[1 : len(raw)-1]
	if !utf8.Valid(inner) {
		return "", ruleNotText
	}
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), ""
	}
	s, ok := unquote(inner)
	if !ok {
		return "", ruleNotText
	}
	return s, ""
}

// unquote resolves the escapes of a checked JSON string's contents, which
// are valid UTF-8. It reports false for a surrogate escape (\\uD800 to
// \\uDFFF) that is not a high one followed by a low one.
func unquote(s []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 > len(s) || s[r] != '\\' || s[r+1] != 'u' {
						return "", false
					}
					dec := utf16.DecodeRune(rr, hex4(s[r+2:]))
					if dec == utf8.RuneError {
						return "", false
					}
					rr = dec
					r += 6
				}
				b.WriteRune(rr)
				continue
			default: // " \ /
				b.WriteByte(e)
			}
			r += 2
		default:
			b.WriteByte(c)
			r++
		}
	}
	return b.String(), true
}

// hex4 reads the four hex digits of a checked \u escape.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
