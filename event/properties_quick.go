package event

// The properties fast path. Almost every properties string is a small flat
// object of plain keys and scalar values, and reading each token by token
// through a json.Decoder (so that an error can name the key) was half of
// Validate's cost under load. quickPropertiesValid accepts that common
// form without allocating (Validate of ten events: 36 us -> 11 us);
// anything else goes to checkProperties' token reading, which words what is
// wrong. FuzzPropertiesQuick holds the two to the same verdicts.

// quickPropertiesValid reports, without allocating, that s is certainly a
// valid properties string: one flat JSON object with distinct camelCase
// keys written without escapes and string, number or boolean values, and
// nothing after it. False means only "look closer": checkProperties then
// reads s token by token and words what is wrong.
func quickPropertiesValid(s string) bool {
	const maxKeys = 64 // more is legal but rare: let the slow path count
	var keys [maxKeys]string
	n := 0
	b := []byte(s)
	sc := scanner{b: b}
	sc.space()
	if sc.i >= len(b) || b[sc.i] != '{' {
		return false
	}
	sc.i++
	sc.space()
	if sc.i < len(b) && b[sc.i] == '}' {
		sc.i++
	} else {
		for {
			if sc.i >= len(b) || b[sc.i] != '"' || n == maxKeys {
				return false
			}
			start := sc.i
			escaped, ok := sc.string()
			if !ok || escaped {
				return false
			}
			key := s[start+1 : sc.i-1]
			if keyRule(key) != "" {
				return false
			}
			for _, k := range keys[:n] {
				if k == key {
					return false
				}
			}
			keys[n] = key
			n++
			sc.space()
			if sc.i >= len(b) || b[sc.i] != ':' {
				return false
			}
			sc.i++
			sc.space()
			if sc.i >= len(b) {
				return false
			}
			switch c := b[sc.i]; {
			case c == '"':
				if _, ok := sc.string(); !ok {
					return false
				}
			case c == '-' || '0' <= c && c <= '9':
				if !sc.number() {
					return false
				}
			case c == 't':
				if !sc.literal("true") {
					return false
				}
			case c == 'f':
				if !sc.literal("false") {
					return false
				}
			default: // null, a nested value, or not JSON
				return false
			}
			sc.space()
			if sc.i >= len(b) {
				return false
			}
			if b[sc.i] == '}' {
				sc.i++
				break
			}
			if b[sc.i] != ',' {
				return false
			}
			sc.i++
			sc.space()
		}
	}
	sc.space()
	return sc.i == len(b)
}
