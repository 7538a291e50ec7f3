//go:build js && wasm

package main

import "github.com/tracklet/tracklet/event"

// decodeCalls is json.Unmarshal of trackJSON's batch into [][4]any, read
// with the event package's scanner (event.DecodeValue) instead of
// encoding/json's reflection, which was a third of trackJSON in the browser
// benchmark's profile. It returns false where DecodeValue does (invalid
// JSON, strings encoding/json would repair, numbers beyond float64) and for
// calls of other than four members, which encoding/json would pad or cut;
// the caller then uses encoding/json. Where it returns true, the result is
// the one json.Unmarshal gives (calls_test.go compares them).
func decodeCalls(s string) ([][4]any, bool) {
	v, ok := event.DecodeValue([]byte(s))
	list, isList := v.([]any)
	if !ok || !isList {
		return nil, false
	}
	out := make([][4]any, len(list))
	for i, c := range list {
		args, ok := c.([]any)
		if !ok || len(args) != len(out[i]) {
			return nil, false
		}
		copy(out[i][:], args)
	}
	return out, true
}
