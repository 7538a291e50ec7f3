//go:build js && wasm

package main

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// decodeCalls must give what json.Unmarshal gives, or decline.
func TestDecodeCallsMatchesEncodingJSON(t *testing.T) {
	check := func(s string, mustDecode bool) {
		t.Helper()
		got, ok := decodeCalls(s)
		var want [][4]any
		err := json.Unmarshal([]byte(s), &want)
		switch {
		case !ok && mustDecode:
			t.Errorf("decodeCalls(%s) declined", s)
		case ok && err != nil:
			t.Errorf("decodeCalls(%s) = %v, but encoding/json fails: %v", s, got, err)
		case ok && !reflect.DeepEqual(got, want):
			t.Errorf("decodeCalls(%s) = %#v, encoding/json %#v", s, got, want)
		}
	}
	for _, s := range []string{
		`[]`, ` [ ] `, `[["View",{"page":"/a","n":1,"ok":true},{"itemId":"i1","eventValue":2.5,"impression":["i1","i2"],"eventId":"mine","sentAt":1714979289123},1714979000000]]`,
		`[["Plain",null,null,1714979000000],[null,{},{"impression":[]},-0]]`,
		"[\n [\"a\" , { \"k\" : false } , null , 1e3 ] ,[\"b\",null,{\"x\":null},0.5E-2]\n]",
		`[["a",{"k":1,"k":"two"},null,1]]`, `[["é 漢字 🎉",{"p":"<b>&</b>"},null,12.5]]`,
	} {
		check(s, true)
	}
	for _, s := range []string{
		``, `null`, `[`, `[[]]`, `[["a",null,null]]`, `[["a",null,null,1,2]]`, `[["a\n",null,null,1]]`,
		`[["\u00e9",null,null,1]]`, "[[\"bad \xff\",null,null,1]]", `[["a",{"o":{"x":1}},null,1]]`, `[["a",[1],null,1]]`,
		`[["a",{"l":[[1]]},null,1]]`, `[["a",null,null,01]]`, `[["a",null,null,1.]]`, `[["a",null,null,1e]]`,
		`[["a",null,null,1e999]]`, `[["a",null,null,+1]]`, `[["a",null,null,1]] x`, `[["a",nul,null,1]]`,
		`[["a",{"k" 1},null,1]]`, `[["a",{"k":1,},null,1]]`, `[["a",null,null,1],]`, `[["a",null,null,1]`, `[{"a":1}]`,
	} {
		check(s, false)
	}

	// Random batches in and around the plain form.
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{`"a"`, `"é"`, `"<&>"`, `"a\"b"`, `""`, `0`, `-1.5`, `3e2`, `1714979000000`, `true`, `false`, `null`, `[]`, `["x","y"]`, `{}`, `{"k":"v"}`, `{"k":[1,"z"]}`, `[{"k":1}]`}
	for range 3000 {
		var b strings.Builder
		b.WriteString("[")
		for c := range rng.IntN(4) {
			if c > 0 {
				b.WriteString(",")
			}
			b.WriteString("[")
			for m := range 3 + rng.IntN(3) {
				if m > 0 {
					b.WriteString(",")
				}
				if rng.IntN(3) == 0 {
					b.WriteString(`{"p":` + pieces[rng.IntN(len(pieces))] + `,"q":` + pieces[rng.IntN(len(pieces))] + `}`)
				} else {
					b.WriteString(pieces[rng.IntN(len(pieces))])
				}
			}
			b.WriteString("]")
		}
		b.WriteString("]")
		check(b.String(), false)
	}
}

// BenchmarkDecodeCalls reads a batch of ten calls as the loader writes
// them: properties, options with an impression list, the call's time.
func BenchmarkDecodeCalls(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for k := range 10 {
		if k > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`["MovieRating",{"numberOfRatings":"12","genre":"drama","rating":4.5,"liked":true},` +
			`{"itemId":"movie1","eventValue":4.5,"impression":["movie1","movie2","movie3"]},1714979289123]`)
	}
	sb.WriteString("]")
	batch := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		if _, ok := decodeCalls(batch); !ok {
			b.Fatal("declined")
		}
	}
}
