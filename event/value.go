package event

// Values: a JSON text into the Go values encoding/json gives an any, read
// in one pass of the scanner and without reflection. The browser module
// reads each batch of calls the loader hands it this way: through
// encoding/json that was a third of a batch's time in the browser
// benchmark's profile, and a second, hand-written scanner there would be a
// second reading of JSON to keep right.

// DecodeValue returns the JSON text data as json.Unmarshal into an any
// returns it: map[string]any, []any, string, float64, bool or nil. It
// reports false where encoding/json fails, and also where encoding/json
// would bend the input: text it would repair into U+FFFD (see ruleNotText)
// and numbers beyond float64's range.
func DecodeValue(data []byte) (any, bool) {
	s := scanner{b: data}
	s.space()
	v, ok := s.any()
	return v, ok && s.end()
}

// any reads one value into its Go form, as value checks it.
func (s *scanner) any() (any, bool) {
	if s.i >= len(s.b) {
		return nil, false
	}
	start := s.i
	switch c := s.b[s.i]; {
	case c == '{':
		return s.anyObject()
	case c == '[':
		return s.anyArray()
	case c == '"':
		if _, ok := s.string(); !ok {
			return nil, false
		}
		text, rule := decodeString(s.b[start:s.i])
		return text, rule == ""
	case c == '-' || '0' <= c && c <= '9':
		if !s.number() {
			return nil, false
		}
		return parseNumber(s.b[start:s.i])
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return nil, s.literal("null")
	}
	return nil, false
}

func (s *scanner) anyObject() (any, bool) {
	m := map[string]any{}
	if done, ok := s.enter('}'); done || !ok {
		return m, ok
	}
	for {
		key, _, ok := s.key()
		if !ok {
			return nil, false
		}
		k, rule := decodeString(key)
		if rule != "" {
			return nil, false
		}
		if m[k], ok = s.any(); !ok { // the last of a repeated key counts
			return nil, false
		}
		if done, ok := s.next('}'); done || !ok {
			return m, ok
		}
		s.space()
	}
}

func (s *scanner) anyArray() (any, bool) {
	list := []any{}
	if done, ok := s.enter(']'); done || !ok {
		return list, ok
	}
	for {
		v, ok := s.any()
		if !ok {
			return nil, false
		}
		list = append(list, v)
		if done, ok := s.next(']'); done || !ok {
			return list, ok
		}
		s.space()
	}
}
