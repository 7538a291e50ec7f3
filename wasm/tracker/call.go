package tracker

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/tracklet/tracklet/event"
)

// A track call crosses from JavaScript to Go one way only: the loader
// writes a batch of calls as one JSON string, [[eventType, properties,
// options, t], ...], and DecodeCalls turns it into Calls, applying every
// rule of track's arguments here, once. One string each way costs the
// page far less than reading each argument across the JS/Go boundary.
//
// The loader's encoder knows no option and no rule. What JSON would not
// carry as it is, it replaces by a description, an object whose member
// "\u0000" names the value's kind:
//
//	{"\u0000": "undefined"}                  undefined
//	{"\u0000": "number", "v": "NaN"}         NaN, "Infinity", "-Infinity", "-0"
//	{"\u0000": "date", "ms": 1714979289123}  a Date (ms may itself be a number's description)
//	{"\u0000": "object", "own": {...}}       an object that is not plain: its own members
//	{"\u0000": "object"}                     any object below the second level
//	{"\u0000": "function"}                   also "symbol" and "bigint"
//
// so that each value is judged, and its error worded, as for the value
// itself. Below the second level (a property's members, an impression's
// items' members) no rule reads more than "not a string", so the loader
// describes objects there by kind alone; that also ends cycles.
const kindKey = "\u0000"

// Call is one decoded track call.
type Call struct {
	EventType  string
	Properties map[string]any
	Options    Options // SentAt is the call's time unless the options give one
	// Err says what is wrong with the call's arguments, naming the field;
	// the call is then not tracked.
	Err error
}

// ErrNotCalls refuses a batch not in the loader's form: a loader bug.
var ErrNotCalls = errors.New("track: not a batch of [eventType, properties, options, t] calls")

// DecodeCalls reads a batch of track calls (see above). t is the call's
// epoch milliseconds, the default sentAt, or null for "now".
func DecodeCalls(batch string) ([]Call, error) {
	raw, ok := decodeBatch(batch)
	if !ok {
		if err := json.Unmarshal([]byte(batch), &raw); err != nil {
			return nil, ErrNotCalls
		}
	}
	calls := make([]Call, len(raw))
	for i, r := range raw {
		c := &calls[i]
		switch t := r[3].(type) {
		case float64:
			c.Options.SentAt = time.UnixMilli(int64(t))
		case nil:
		default:
			return nil, ErrNotCalls
		}
		c.Err = c.read(r[0], r[1], r[2])
	}
	return calls, nil
}

// decodeBatch is json.Unmarshal of a batch into [][4]any, read with the
// event package's scanner (event.DecodeValue) instead of encoding/json's
// reflection, which was a third of a batch's time in the browser
// benchmark's profile. It returns false where DecodeValue does (invalid
// JSON, strings encoding/json would repair, numbers beyond float64) and
// for calls of other than four members, which encoding/json would pad or
// cut; the caller then uses encoding/json. Where it returns true, the
// result is the one json.Unmarshal gives (call_test.go compares them).
func decodeBatch(s string) ([][4]any, bool) {
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

// read applies the rules of track's arguments, in the order a caller
// reads them: the event type, the properties, the options.
func (c *Call) read(eventType, props, opts any) error {
	switch et := eventType.(type) {
	case string:
		c.EventType = et
	default:
		if !absent(et) {
			return &event.FieldError{Field: "eventType", Rule: "must be a string"}
		}
		// Validate words the missing member.
	}
	var err error
	if c.Properties, err = properties(props); err != nil {
		return err
	}
	return readOptions(&c.Options, opts)
}

// properties reads track's second argument into the map EncodeProperties
// takes. Values other than strings, numbers and booleans are passed on as
// nil, for EncodeProperties to reject with the key's name.
func properties(v any) (map[string]any, error) {
	m, ok := members(v)
	if _, isList := v.([]any); isList || !ok {
		if absent(v) {
			return nil, nil
		}
		return nil, &event.FieldError{Field: "properties", Rule: `must be an object (e.g. {itemId: "movie1"})`}
	}
	plain := true
	for _, x := range m {
		switch x.(type) {
		case string, float64, bool:
		default:
			plain = false
		}
	}
	if plain {
		return m, nil // the common case: the decoded map as it is
	}
	props := make(map[string]any, len(m))
	for k, x := range m {
		switch x := x.(type) {
		case string, float64, bool:
			props[k] = x
		default:
			if f, ok := number(x); ok {
				props[k] = f
			} else {
				props[k] = nil
			}
		}
	}
	return props, nil
}

// The order in which the kinds of options are checked: the first broken
// rule of the first kind is the one reported, as it always was.
const (
	numberRank = iota
	listRank
	stringRank
	timeRank
	ranks
)

// readOptions reads track's third argument into o by OptionList.
func readOptions(o *Options, v any) error {
	if absent(v) {
		return nil
	}
	m, ok := members(v)
	if !ok {
		return &event.FieldError{Field: "options", Rule: "must be an object"}
	}
	if err := unknownOption(v, m); err != nil {
		return err
	}
	var errs [ranks]error
	fail := func(rank int, field, rule string) {
		if errs[rank] == nil {
			errs[rank] = &event.FieldError{Field: field, Rule: rule}
		}
	}
	for _, opt := range OptionList {
		x := m[opt.Name]
		if absent(x) {
			continue
		}
		switch p := opt.Field(o).(type) {
		case **string:
			if s, ok := x.(string); ok {
				*p = &s
			} else {
				fail(stringRank, opt.Name, "must be a string")
			}
		case **float64:
			if f, ok := number(x); ok {
				*p = event.Float(f)
			} else {
				fail(numberRank, opt.Name, "must be a number")
			}
		case *[]string:
			items, ok := x.([]any)
			if !ok {
				fail(listRank, opt.Name, "must be an array of item ids")
				continue
			}
			*p = make([]string, len(items))
			for i, item := range items {
				if (*p)[i], ok = item.(string); !ok {
					fail(listRank, opt.Name+"["+strconv.Itoa(i)+"]", "must be a string")
					break
				}
			}
		case *time.Time:
			if d, ok := x.(map[string]any); ok && d[kindKey] == "date" {
				x = d["ms"]
			}
			ms, ok := number(x)
			switch {
			case !ok:
				fail(timeRank, opt.Name, "must be a Date or a number of milliseconds since 1970")
			case math.IsNaN(ms) || math.IsInf(ms, 0):
				fail(timeRank, opt.Name, "not a finite number (an invalid Date?)")
			default:
				*p = time.UnixMilli(int64(ms))
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// unknownOption refuses a member options may not carry: a typo that would
// otherwise be silently lost. An array's members are its indices.
func unknownOption(v any, m map[string]any) error {
	var unknown []string
	if list, ok := v.([]any); ok && len(list) > 0 {
		unknown = append(unknown, "0")
	}
	for k := range m {
		if !isOption(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown) // JSON's decoded objects have lost the call's key order
	return &event.FieldError{Field: "options." + unknown[0], Rule: "unknown option (known: " + knownOptions() + ")"}
}

func isOption(name string) bool {
	for _, opt := range OptionList {
		if opt.Name == name {
			return true
		}
	}
	return false
}

// members returns the members of an object argument: a plain object's, a
// described object's own, none for a Date (JavaScript lists none). An
// array is an object too; its members matter only to options, which
// refuse any.
func members(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case []any:
		return nil, true
	case map[string]any:
		switch v[kindKey] {
		case nil:
			return v, true
		case "object":
			own, _ := v["own"].(map[string]any)
			return own, true
		case "date":
			return nil, true
		}
	}
	return nil, false
}

// number reads a JSON number or a described one.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case map[string]any:
		if v[kindKey] != "number" {
			return 0, false
		}
		switch v["v"] {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		case "-0":
			return math.Copysign(0, -1), true
		}
	}
	return 0, false
}

// absent reports whether v is null or undefined, which every argument
// and option treats as not given.
func absent(v any) bool {
	if v == nil {
		return true
	}
	d, ok := v.(map[string]any)
	return ok && d[kindKey] == "undefined"
}
