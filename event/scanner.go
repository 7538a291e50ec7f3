package event

// The scanner checks a JSON text once, strictly, as encoding/json's Valid
// does, and on the way hands out the raw bytes of the members and items its
// caller asks for. DecodeRequest reads a body with it in one pass: through
// json.RawMessage and reflection every member was read twice, a quarter of
// the collector's CPU under load (ten events now decode about 5x faster).
// It is Tracklet's one JSON scanner: the browser module reads its batches
// of calls with it too (DecodeValue, in value.go).

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

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
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
	if done, ok := s.enter('}'); done || !ok {
		return ok
	}
	for {
		key, escaped, ok := s.key()
		if !ok {
			return false
		}
		vstart := s.i
		if !s.value() {
			return false
		}
		if len(names) > 0 {
			if k := member(key, escaped, names); k >= 0 {
				vals[k] = s.b[vstart:s.i]
			}
		}
		if done, ok := s.next('}'); done || !ok {
			return ok
		}
		s.space()
	}
}

// key reads a member's key, as written (quoted), and the colon after it,
// reporting whether the key has escapes.
func (s *scanner) key() (key []byte, escaped, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i
	if escaped, ok = s.string(); !ok {
		return nil, false, false
	}
	key = s.b[start:s.i]
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, false, false
	}
	s.i++
	s.space()
	return key, escaped, true
}

// array reads an array, appending its items' raw values to items if it is
// not nil.
func (s *scanner) array(items *[][]byte) bool {
	if done, ok := s.enter(']'); done || !ok {
		return ok
	}
	for {
		start := s.i
		if !s.value() {
			return false
		}
		if items != nil {
			*items = append(*items, s.b[start:s.i])
		}
		if done, ok := s.next(']'); done || !ok {
			return ok
		}
		s.space()
	}
}

// enter steps into the object or array whose opening byte is at i, one
// level deeper: done reports that end closes it at once ({} or []), not
// ok that it nests deeper than maxDepth.
func (s *scanner) enter(end byte) (done, ok bool) {
	if s.depth++; s.depth > maxDepth {
		return false, false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return true, true
	}
	return false, true
}

// next reads what follows a member or an item: a comma before the next
// one, or end, which closes the object or array (done). Anything else is
// not JSON (not ok). It is kept small enough to be inlined, as the code it
// stands for in both loops was: the space after a comma is the loop's.
func (s *scanner) next(end byte) (done, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	c := s.b[s.i]
	s.i++
	if c == end {
		s.depth--
		return true, true
	}
	return false, c == ','
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
