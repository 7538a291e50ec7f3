//go:build js && wasm

package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeJSON must give exactly what json.Unmarshal gives an any, and
// refuse what it refuses.
func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`[["View",{"page":"/a","n":1,"ok":true,"off":false},{"itemId":"i1","eventValue":2.5,"impression":["i1","i2"]},1714979289123]]`,
		`[]`, `{}`, `[[]]`, ` [ 1 , 2 ] `, `"x"`, `null`, `true`, `false`, `0`, `-0`, `1e3`, `1E+3`, `-1.5e-7`, `123456789012345678901234567890`,
		`0.1`, `5e-324`, `1.7976931348623157e308`, `1e400`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `0x10`, `NaN`, `Infinity`,
		`"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u6f22\ud83c\udf89"`, `"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`,
		`"\u12"`, `"\x"`, "\"tab\there\"", "\"bad \xff utf8\"", `"é 漢字 🎉"`, `"<&>"`, `"\u2028"`,
		`{"a":1,"a":2}`, `{"a" : [1, {"b": null}]}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a"}`, `{a:1}`, `[`, `{`, `"open`, `[1]x`, ``, ` `,
	} {
		var want any
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := decodeJSON(s)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("decodeJSON(%q): error %v, json.Unmarshal %v", s, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("decodeJSON(%q) = %#v, want %#v", s, got, want)
		}
	}
}

func TestDecodeJSONBoundsNesting(t *testing.T) {
	if _, err := decodeJSON(`[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]`); err != nil {
		t.Errorf("16 levels refused: %v", err)
	}
	if _, err := decodeJSON(`[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]`); err == nil {
		t.Error("18 levels accepted")
	}
}
