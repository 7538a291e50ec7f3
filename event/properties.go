package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EncodeProperties turns a map of properties into the JSON-encoded string
// PutEvents carries, with keys sorted so equal maps encode equally. Values
// must be strings, booleans or finite numbers; keys must be camelCase. The
// length limit is checked by Validate, not here.
func EncodeProperties(props map[string]any) (string, error) {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if rule := keyRule(k); rule != "" {
			return "", &FieldError{Field: "properties", Rule: rule}
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, k)
		buf.WriteByte(':')
		switch v := props[k].(type) {
		case string:
			writeJSONString(&buf, v)
		case bool:
			buf.WriteString(strconv.FormatBool(v))
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return "", &FieldError{Field: "properties", Rule: "key " + strconv.Quote(k) + " is not a finite number"}
			}
			buf.Write(strconv.AppendFloat(nil, v, 'g', -1, 64))
		case int:
			buf.WriteString(strconv.Itoa(v))
		case int64:
			buf.WriteString(strconv.FormatInt(v, 10))
		case json.Number:
			buf.WriteString(v.String())
		default:
			return "", &FieldError{Field: "properties", Rule: "key " + strconv.Quote(k) + " " + notScalar}
		}
	}
	buf.WriteByte('}')
	return buf.String(), nil
}

const notScalar = "is not a string, number or boolean"

func writeJSONString(buf *bytes.Buffer, s string) {
	buf.Write(AppendJSONString(buf.AvailableBuffer(), s))
}

// ParseProperties decodes a properties string into a map, numbers as
// json.Number so that nothing is rounded. It fails on anything Validate
// would reject.
func ParseProperties(s string) (map[string]any, error) {
	out := make(map[string]any)
	if rule := checkProperties(s, out); rule != "" {
		return nil, &FieldError{Field: "properties", Rule: rule}
	}
	return out, nil
}

// checkProperties returns the rule the properties string s breaks, or "" if
// it is valid. Keys and values are stored into into when it is not nil.
// It reads tokens rather than unmarshalling so that it can name nested
// values and duplicate keys, which a map would hide.
func checkProperties(s string, into map[string]any) string {
	if s == "" {
		return "empty"
	}
	if n := utf8.RuneCountInString(s); n > MaxPropertiesLength {
		return "longer than " + strconv.Itoa(MaxPropertiesLength) + " characters"
	}
	if into == nil && quickPropertiesValid(s) {
		return "" // the common case, without a json.Decoder's allocations
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	const notObject = `not a JSON object (expected e.g. {"itemId":"movie1"})`
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return notObject
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return notObject
		}
		key := tok.(string) // inside an object, Token yields keys as strings
		if rule := keyRule(key); rule != "" {
			return rule
		}
		if seen[key] {
			return "key " + strconv.Quote(key) + " appears twice"
		}
		seen[key] = true
		val, err := dec.Token()
		if err != nil {
			return notObject
		}
		switch val.(type) {
		case string, json.Number, bool:
		case nil:
			return "key " + strconv.Quote(key) + " is null; use a string, number or boolean"
		default: // a Delim: a nested object or array
			return "key " + strconv.Quote(key) + " has a nested value; values must be strings, numbers or booleans"
		}
		if into != nil {
			into[key] = val
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return notObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return notObject
	}
	return ""
}

// CheckPropertyKey reports whether key may name a property: camelCase,
// and none of ReservedPropertyKeys in any case. The error is a
// *FieldError for "properties".
func CheckPropertyKey(key string) error {
	if rule := keyRule(key); rule != "" {
		return &FieldError{Field: "properties", Rule: rule}
	}
	return nil
}

// keyRule returns the rule the properties key breaks, or "" if it is a
// valid key: camelCase, and none of ReservedPropertyKeys in any case.
func keyRule(key string) string {
	if !isCamelCase(key) {
		return "key " + strconv.Quote(key) + " is not camelCase"
	}
	for _, r := range ReservedPropertyKeys {
		if strings.EqualFold(key, r) {
			return "key " + strconv.Quote(key) + " is reserved by PutEvents (" + strings.Join(ReservedPropertyKeys, ", ") + ", in any case)"
		}
	}
	return ""
}

// isCamelCase reports whether key is a camelCase name, the form of the
// Interactions schema's fields (numberOfRatings for NUMBER_OF_RATINGS).
func isCamelCase(key string) bool {
	if key == "" || key[0] < 'a' || key[0] > 'z' {
		return false
	}
	for i := 1; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
