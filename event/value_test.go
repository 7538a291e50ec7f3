package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// valueSeeds add arrays, lone strings and scalars to decodeSeeds.
var valueSeeds = append([]string{
	`[]`, ` [ ] `, `[1,"a",null,true,false,{},[],{"k":[1,{"x":"y"}]}]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[1]x`,
	`["a\"b","\u00e9","\ud83d\ude00","\ud800","\xff"]`, `""`, `"a\"b\\\/\b\f\n\r\t"`, `"\u00e9\u00E9"`, `"\ud800"`,
	`"\ud83d\ude00"`, `"\ude00\ud83d"`, "\"\xff\"", `"a`, `"a" `, ` "a"`, `"\x"`, `"\u12"`, "\"\x01\"",
	`{"a":1,"a":2,"A":3}`, `{"\u0061":1,"b":[1,2]}`, "{\"\xff\":1}", `{"a":1,}`, `{"a"}`, `1e999`, `-0`, `0.5E-2`, `01`, `tru`, `nullx`, ` true `,
}, decodeSeeds...)

// FuzzDecodeValue holds DecodeValue to json.Unmarshal into an any: the
// same values, the same verdict, except that DecodeValue refuses what
// encoding/json repairs.
//
//	go test ./event -run '^$' -fuzz FuzzDecodeValue -fuzztime 1m
func FuzzDecodeValue(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { compareDecodeValue(t, data) })
}

func TestDecodeValueMatchesEncodingJSON(t *testing.T) {
	for _, s := range valueSeeds {
		compareDecodeValue(t, []byte(s))
	}
	full := `[{"trackingId":"tk_1","x":[1,{"y":null}],"s":"\u00e9\n"},["a",2.5e3,-0,true,false,null],"\ud83d\ude00"]`
	for n := range len(full) + 1 {
		compareDecodeValue(t, []byte(full[:n]))
	}
}

func compareDecodeValue(t *testing.T, data []byte) {
	t.Helper()
	got, ok := DecodeValue(data)
	var want any
	err := json.Unmarshal(data, &want)
	switch {
	case ok && err != nil:
		t.Fatalf("DecodeValue(%q) = %#v, but encoding/json fails: %v", data, got, err)
	case ok && !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeValue(%q) = %#v, encoding/json %#v", data, got, want)
	case !ok && err == nil && !repaired(want):
		t.Fatalf("DecodeValue(%q) refused what encoding/json reads as %#v without repair", data, want)
	}
}

// repaired reports whether a string in v, or a key, holds U+FFFD, as the
// text encoding/json repairs does.
func repaired(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, item := range v {
			if repaired(item) {
				return true
			}
		}
	case map[string]any:
		for k, item := range v {
			if repaired(k) || repaired(item) {
				return true
			}
		}
	}
	return false
}
