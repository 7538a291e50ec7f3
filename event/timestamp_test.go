package event

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestTimestampMarshalJSONMatchesAppendFloat holds MarshalJSON's integer
// path to the bytes strconv.AppendFloat writes for the rounded value.
func TestTimestampMarshalJSONMatchesAppendFloat(t *testing.T) {
	vals := []float64{
		math.SmallestNonzeroFloat64, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.5, 1, 1.1, 1.12, 1.123, 1.1234, 1.9995, 9.9999,
		1714979289, 1714979289.1, 1714979289.12, 1714979289.123, 1714979289.1235, 1714979289.9999,
		253402300799.999, 253402300800, 999999999999.999, 1e12 - 0.0001,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		vals = append(vals, float64(r.Int64N(1e15))/1000, r.Float64()*1e12, r.Float64()*1e4)
	}
	for _, f := range vals {
		got, err := Timestamp(f).MarshalJSON()
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		want := strconv.AppendFloat(nil, math.Round(f*1000)/1000, 'f', -1, 64)
		if string(got) != string(want) {
			t.Fatalf("Timestamp(%v).MarshalJSON() = %s, want %s", f, got, want)
		}
	}
}
