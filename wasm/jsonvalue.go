//go:build js && wasm

package main

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errJSON is any input decodeJSON does not take.
var errJSON = errors.New("invalid JSON")

// decodeJSON decodes s into the values json.Unmarshal gives an any
// (string, float64, bool, nil, []any, map[string]any), without its
// reflection: trackJSON decodes a batch of calls per task, and in
// WebAssembly encoding/json took a third of its time. It accepts
// standard JSON only, whitespace included; anything else is errJSON.
func decodeJSON(s string) (any, error) {
	d := jsonDecoder{s: s}
	d.space()
	v, ok := d.value(0)
	d.space()
	if !ok || d.i != len(s) {
		return nil, errJSON
	}
	return v, nil
}

type jsonDecoder struct {
	s string
	i int
}

// maxJSONDepth bounds nesting, as a plain call nests three levels.
const maxJSONDepth = 16

func (d *jsonDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value(depth int) (any, bool) {
	if d.i >= len(d.s) || depth > maxJSONDepth {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '"':
		return d.string()
	case c == '[':
		d.i++
		out := []any{}
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return out, true
		}
		for {
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
			d.space()
			if d.i >= len(d.s) {
				return nil, false
			}
			d.i++
			switch d.s[d.i-1] {
			case ',':
			case ']':
				return out, true
			default:
				return nil, false
			}
		}
	case c == '{':
		d.i++
		out := map[string]any{}
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return out, true
		}
		for {
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return nil, false
			}
			k, ok := d.string()
			if !ok {
				return nil, false
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return nil, false
			}
			d.i++
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			out[k.(string)] = v
			d.space()
			if d.i >= len(d.s) {
				return nil, false
			}
			d.i++
			switch d.s[d.i-1] {
			case ',':
			case '}':
				return out, true
			default:
				return nil, false
			}
		}
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

func (d *jsonDecoder) literal(word string) bool {
	if len(d.s)-d.i < len(word) || d.s[d.i:d.i+len(word)] != word {
		return false
	}
	d.i += len(word)
	return true
}

// number reads a number by JSON's grammar.
func (d *jsonDecoder) number() (any, bool) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return nil, false
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, false
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	if err != nil {
		return nil, false // out of range, as json.Unmarshal refuses it
	}
	return f, true
}

func (d *jsonDecoder) digits() int {
	n := 0
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// string reads a quoted string, replacing invalid UTF-8 and lone
// surrogates with U+FFFD as encoding/json does.
func (d *jsonDecoder) string() (any, bool) {
	d.i++ // the opening quote
	start := d.i
	// The common case: no escapes, valid UTF-8, no control characters.
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			out := d.s[start:d.i]
			d.i++
			return out, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.i++
	}
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return nil, false
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return nil, false
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					save := d.i
					if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
						d.i += 2
						if x, ok := d.hex4(); ok {
							r2 = x
						} else {
							return nil, false
						}
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						r = utf8.RuneError
						d.i = save // the next escape stands on its own
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return nil, false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			b = utf8.AppendRune(b, r) // RuneError for invalid bytes
			d.i += size
		}
	}
	return nil, false
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}
