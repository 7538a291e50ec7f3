package event

// Timestamps: sentAt as PutEvents writes it (seconds since 1970 with a
// millisecond fraction), its JSON form, and the lenient reading of what real
// clients send instead (milliseconds, RFC 3339 strings). The tracker
// writes one per event and the collector reads one per event, so both
// directions avoid encoding/json's reflection.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// Timestamp is a time in Unix seconds with a millisecond fraction, the way
// PutEvents writes sentAt (1714979289.123).
type Timestamp float64

// TimestampOf returns t as a Timestamp, truncated to the millisecond.
func TimestampOf(t time.Time) Timestamp {
	return Timestamp(float64(t.UnixMilli()) / 1000)
}

// Time returns ts as a time.Time, rounded to the millisecond.
func (ts Timestamp) Time() time.Time {
	return time.UnixMilli(ts.UnixMilli())
}

// UnixMilli returns ts in whole milliseconds.
func (ts Timestamp) UnixMilli() int64 {
	return int64(math.Round(float64(ts) * 1000))
}

// MarshalJSON writes ts as a JSON number of seconds with at most three
// decimals. NaN and infinities have no JSON form and are an error.
func (ts Timestamp) MarshalJSON() ([]byte, error) {
	return ts.AppendJSON(nil)
}

// AppendJSON appends what MarshalJSON returns to b, sparing an
// allocation.
func (ts Timestamp) AppendJSON(b []byte) ([]byte, error) {
	f := float64(ts)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &FieldError{Field: "sentAt", Rule: ruleText["finite"]}
	}
	ms := math.Round(f * 1000)
	if f > 0 && f < 1e12 {
		// Whole milliseconds written as integers: the bytes AppendFloat
		// writes (below 10¹² s a double tells apart every millisecond, so
		// the shortest form has at most three decimals) at a fraction of
		// its cost, which in WebAssembly is paid twice per tracked event.
		return appendMillis(b, int64(ms)), nil
	}
	return strconv.AppendFloat(b, ms/1000, 'f', -1, 64), nil
}

// appendMillis appends ms/1000 in decimal, without trailing zeros.
func appendMillis(b []byte, ms int64) []byte {
	b = strconv.AppendInt(b, ms/1000, 10)
	frac := ms % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// String returns the JSON form for use in messages.
func (ts Timestamp) String() string {
	b, err := ts.MarshalJSON()
	if err != nil {
		return strconv.FormatFloat(float64(ts), 'g', -1, 64)
	}
	return string(b)
}

// millisThreshold separates seconds from milliseconds in a numeric sentAt:
// 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973. No real
// event is on the wrong side of it in either unit.
const millisThreshold = 1e11

// The errors of ParseTimestamp, one value each: the decoder reports their
// text as the rule sentAt breaks.
var (
	errNotTimestamp = errors.New("must be a number of seconds or an RFC 3339 time")
	errNotRFC3339   = errors.New("string is not an RFC 3339 time (e.g. 2024-05-06T07:08:09.123Z)")
)

// ParseTimestamp reads a sentAt value. A JSON number is seconds since 1970,
// or milliseconds when it is 1e11 or more; a JSON string must be an RFC 3339
// time such as "2024-05-06T07:08:09.123Z". Anything else is an error.
// Precision beyond the millisecond is dropped.
func ParseTimestamp(raw []byte) (Timestamp, error) {
	return parseTimestamp(raw, false)
}

// parseTimestamp is ParseTimestamp; checked says raw is known to be one
// valid JSON value, which saves checking it again.
func parseTimestamp(raw []byte, checked bool) (Timestamp, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if checked {
			// raw is a valid JSON string, so the only rule it can break is
			// ruleNotText; encoding/json would have read it with U+FFFD in
			// place, which is no time either.
			var rule string
			if s, rule = decodeString(raw); rule != "" {
				return 0, errNotRFC3339
			}
		} else if json.Unmarshal(raw, &s) != nil {
			return 0, errNotTimestamp
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, errNotRFC3339
		}
		return TimestampOf(t), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || !checked && !json.Valid(raw) {
		return 0, errNotTimestamp
	}
	if math.Abs(f) >= millisThreshold {
		f /= 1000
	}
	return Timestamp(math.Round(f*1000) / 1000), nil
}
