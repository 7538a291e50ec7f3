package event

// The scanner checks a JSON text once, strictly, as encoding/json's Valid
// does, and on the way hands out the raw bytes of the members and items its
// caller asks for. DecodeRequest reads a body with it in one pass: through
// json.RawMessage and reflection every member was read twice, a quarter of
// the collector's CPU under load (ten events now decode about 5x faster).

import "bytes"

// maxDepth is encoding/json's nesting limit: deeper input is invalid.
const maxDepth = 10000

// scanner checks JSON as encoding/json does (RFC 8259, strictly) while
// finding the raw values of the members and items its callers want, in one
// pass and without allocating. Each method starts at the first byte of its
// value and leaves i just past it; false means the input is not valid JSON.
type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(nil, nil)
	case c == '[':
		return s.array(nil)
	case c == '"':
		_, ok := s.string()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// object reads an object, storing into vals the raw values of the members
// names lists (see readObject).
func (s *scanner) object(names []string, vals [][]byte) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i
		escaped, ok := s.string()
		if !ok {
			return false
		}
		key := s.b[start:s.i]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		vstart := s.i
		if !s.value() {
			return false
		}
		if len(names) > 0 {
			if k := member(key, escaped, names); k >= 0 {
				vals[k] = s.b[vstart:s.i]
			}
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array reads an array, appending its items' raw values to items if it is
// not nil.
func (s *scanner) array(items *[][]byte) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		start := s.i
		if !s.value() {
			return false
		}
		if items != nil {
			*items = append(*items, s.b[start:s.i])
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// string reads a string, reporting whether it has escapes.
func (s *scanner) string() (escaped, ok bool) {
	s.i++ // "
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return escaped, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return escaped, false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return escaped, false
					}
				}
				s.i += 5
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			s.i++
		}
	}
	return escaped, false
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}
