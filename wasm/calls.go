//go:build js && wasm

package main

import (
	"strconv"
	"unicode/utf8"
)

// decodeCalls is json.Unmarshal of trackJSON's batch into [][4]any for the
// batches the loader writes, without reflection: encoding/json was a third
// of trackJSON in the browser benchmark's profile. It returns false for
// anything outside the plain subset it knows (escaped or invalid UTF-8
// strings, calls of other than four members, nesting deeper than an
// option's array, numbers beyond float64), and the caller then uses
// encoding/json; where it returns true, the result is the one
// json.Unmarshal gives (calls_test.go compares them).
func decodeCalls(s string) ([][4]any, bool) {
	d := callDecoder{s: s}
	d.space()
	if !d.eat('[') {
		return nil, false
	}
	var out [][4]any
	d.space()
	if d.eat(']') {
		return [][4]any{}, d.end()
	}
	for {
		var c [4]any
		d.space()
		if !d.eat('[') {
			return nil, false
		}
		for i := range c {
			if i > 0 && !d.comma() {
				return nil, false
			}
			v, ok := d.value(1)
			if !ok {
				return nil, false
			}
			c[i] = v
		}
		d.space()
		if !d.eat(']') {
			return nil, false
		}
		out = append(out, c)
		d.space()
		if d.eat(']') {
			return out, d.end()
		}
		if !d.eat(',') {
			return nil, false
		}
	}
}

type callDecoder struct {
	s string
	i int
}

func (d *callDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *callDecoder) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *callDecoder) comma() bool {
	d.space()
	return d.eat(',')
}

func (d *callDecoder) end() bool {
	d.space()
	return d.i == len(d.s)
}

// value reads a string, number, true, false or null, and at depth 1 also
// an object, whose members may be arrays (depth 2) of those scalars.
func (d *callDecoder) value(depth int) (any, bool) {
	d.space()
	if d.i >= len(d.s) {
		return nil, false
	}
	switch c := d.s[d.i]; {
	case c == '"':
		return d.str()
	case c == '{' && depth == 1:
		return d.object()
	case c == '[' && depth == 2:
		d.i++
		list := []any{}
		d.space()
		if d.eat(']') {
			return list, true
		}
		for {
			v, ok := d.value(3)
			if !ok {
				return nil, false
			}
			list = append(list, v)
			d.space()
			if d.eat(']') {
				return list, true
			}
			if !d.eat(',') {
				return nil, false
			}
		}
	case c == 't':
		return true, d.word("true")
	case c == 'f':
		return false, d.word("false")
	case c == 'n':
		return nil, d.word("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return nil, false
}

func (d *callDecoder) object() (any, bool) {
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.eat('}') {
		return m, true
	}
	for {
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.space()
		if !d.eat(':') {
			return nil, false
		}
		v, ok := d.value(2)
		if !ok {
			return nil, false
		}
		m[k.(string)] = v // the last of a repeated key wins, as in encoding/json
		d.space()
		if d.eat('}') {
			return m, true
		}
		if !d.eat(',') {
			return nil, false
		}
	}
}

// str reads a string without escapes or control characters, in valid
// UTF-8: what JSON.stringify writes for ordinary text.
func (d *callDecoder) str() (any, bool) {
	start := d.i + 1
	for j := start; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			v := d.s[start:j]
			if !utf8.ValidString(v) {
				return nil, false
			}
			d.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

func (d *callDecoder) word(w string) bool {
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return true
	}
	return false
}

// number reads a JSON number (RFC 8259 grammar) as encoding/json decodes
// one into an interface: strconv.ParseFloat of its text.
func (d *callDecoder) number() (any, bool) {
	start := d.i
	digits := func() bool {
		n := d.i
		for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
			d.i++
		}
		return d.i > n
	}
	d.eat('-')
	if d.eat('0') {
		// no leading zeros
	} else if !digits() {
		return nil, false
	}
	if d.eat('.') && !digits() {
		return nil, false
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if !digits() {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	if err != nil {
		return nil, false
	}
	return f, true
}
