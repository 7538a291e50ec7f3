package event

// Member names match as encoding/json matches them to a struct's fields:
// exactly, else without regard to case. Clients written against
// encoding/json-based services send "EventType" or "eventtype" and are
// understood, so DecodeRequest must understand them too.

import (
	"bytes"
	"encoding/json"
)

// member returns the index in names of the quoted key, or -1.
func member(quoted []byte, escaped bool, names []string) int {
	key := quoted[1 : len(quoted)-1]
	if escaped {
		var k string
		if json.Unmarshal(quoted, &k) != nil {
			return -1
		}
		key = []byte(k)
	}
	for k, name := range names {
		if string(key) == name {
			return k
		}
	}
	for k, name := range names {
		if bytes.EqualFold(key, []byte(name)) {
			return k
		}
	}
	return -1
}
