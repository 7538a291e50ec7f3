package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeRequest parses a PutEvents body.
//
// It is lenient where real clients are sloppy: members it does not know are
// ignored, a null member counts as absent, and sentAt may be given in
// milliseconds or as an RFC 3339 string (see ParseTimestamp). Every other
// member must have its documented JSON type, and strings must be valid
// Unicode: invalid UTF-8 and unpaired surrogate escapes are refused, not
// repaired into U+FFFD as encoding/json would (repaired, two different ids
// could become one). A mismatch is reported, with the member's path, in the
// Errors returned. DecodeRequest does not check limits: call
// Request.Validate for that.
//
// Member names match as encoding/json matches them (exactly, else without
// regard to case), and when a member appears twice the last one counts.
func DecodeRequest(data []byte) (*Request, error) {
	var w [len(requestMembers)][]byte
	if err := readObject(data, requestMembers[:], w[:]); err != nil {
		return nil, Errors{{Field: "body", Rule: err.Error()}}
	}
	var (
		d   decoder
		req Request
	)
	req.TrackingID = d.requiredString(w[0], noIndex, "trackingId")
	req.SessionID = d.requiredString(w[1], noIndex, "sessionId")
	req.UserID = d.string(w[2], noIndex, "userId")
	if list, ok := d.array(w[3], noIndex, "eventList"); ok {
		req.EventList = make([]Event, len(list))
		for i, raw := range list {
			d.event(raw, i, &req.EventList[i])
		}
	}
	if err := d.errs.errOrNil(); err != nil {
		return nil, err
	}
	return &req, nil
}

// DecodeEvent parses one event in wire form, as DecodeRequest parses each of
// a request's events.
func DecodeEvent(data []byte) (*Event, error) {
	var d decoder
	var e Event
	d.event(data, noIndex, &e)
	if err := d.errs.errOrNil(); err != nil {
		return nil, err
	}
	return &e, nil
}

// The members DecodeRequest and DecodeEvent read, in the order of the slots
// readObject fills.
var (
	requestMembers = [...]string{"trackingId", "sessionId", "userId", "eventList"}
	eventMembers   = [...]string{"eventId", "eventType", "eventValue", "itemId", "impression",
		"recommendationId", "metricAttribution", "properties", "sentAt"}
	attributionMembers = [...]string{"eventAttributionSource"}
)

// Slots of eventMembers.
const (
	evID = iota
	evType
	evValue
	evItemID
	evImpression
	evRecommendationID
	evMetricAttribution
	evProperties
	evSentAt
)

// noIndex is the index of a member that is not in eventList: a request's
// own members, or the event DecodeEvent reads.
const noIndex = -1

// decoder reads wire members into Go values, collecting one error per
// member that has the wrong JSON type. Paths are built only for errors:
// most requests have none, and building them cost more than decoding.
type decoder struct{ errs Errors }

// fail records that field of event i (or of the request, for noIndex)
// broke rule.
func (d *decoder) fail(i int, field, rule string) {
	d.errs = append(d.errs, &FieldError{Field: join(eventPath(i), field), Rule: rule})
}

func eventPath(i int) string {
	if i == noIndex {
		return ""
	}
	return "eventList[" + strconv.Itoa(i) + "]"
}

func (d *decoder) event(raw []byte, i int, e *Event) {
	var w [len(eventMembers)][]byte
	if err := readObject(raw, eventMembers[:], w[:]); err != nil {
		path := eventPath(i)
		if path == "" {
			path = "body"
		}
		d.errs = append(d.errs, &FieldError{Field: path, Rule: err.Error()})
		return
	}
	e.EventID = d.string(w[evID], i, "eventId")
	e.EventType = d.requiredString(w[evType], i, "eventType")
	e.ItemID = d.string(w[evItemID], i, "itemId")
	e.RecommendationID = d.string(w[evRecommendationID], i, "recommendationId")
	e.Properties = d.string(w[evProperties], i, "properties")
	if raw := w[evValue]; !isNull(raw) {
		if f, ok := parseNumber(raw); ok {
			e.EventValue = &f
		} else {
			d.fail(i, "eventValue", "must be a number")
		}
	}
	if items, ok := d.array(w[evImpression], i, "impression"); ok {
		e.Impression = make([]string, len(items))
		for k, item := range items {
			if isNull(item) {
				continue
			}
			if s, rule := decodeString(item); rule == "" {
				e.Impression[k] = s
			} else {
				d.fail(i, "impression["+strconv.Itoa(k)+"]", rule)
			}
		}
	}
	if raw := w[evMetricAttribution]; !isNull(raw) {
		var m [len(attributionMembers)][]byte
		if err := readObject(raw, attributionMembers[:], m[:]); err != nil {
			d.fail(i, "metricAttribution", err.Error())
		} else {
			src := d.requiredString(m[0], i, "metricAttribution.eventAttributionSource")
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: src}
		}
	}
	if raw := w[evSentAt]; !isNull(raw) {
		ts, err := parseTimestamp(raw, true)
		if err != nil {
			d.fail(i, "sentAt", err.Error())
		}
		e.SentAt = ts
	}
}

// string reads an optional string member; absent and null give nil.
func (d *decoder) string(raw []byte, i int, field string) *string {
	if isNull(raw) {
		return nil
	}
	s, rule := decodeString(raw)
	if rule != "" {
		d.fail(i, field, rule)
		return nil
	}
	return &s
}

// requiredString reads a string member whose absence Validate reports, so
// here absent simply reads as "".
func (d *decoder) requiredString(raw []byte, i int, field string) string {
	if s := d.string(raw, i, field); s != nil {
		return *s
	}
	return ""
}

// array reads an optional JSON array, returning its items' raw values and
// whether there was one. A present but empty array gives an empty, non-nil
// list: Validate says it is empty.
func (d *decoder) array(raw []byte, i int, field string) ([][]byte, bool) {
	if isNull(raw) {
		return nil, false
	}
	if raw[0] != '[' {
		d.fail(i, field, "must be an array")
		return nil, false
	}
	s := scanner{b: raw}
	items := [][]byte{}
	if !s.array(&items) {
		d.fail(i, field, "must be an array") // not reached: raw was checked with its object
		return nil, false
	}
	return items, true
}

func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// Rules a string member breaks in decodeString.
const (
	ruleNotString = "must be a string"
	// ruleNotText is for strings that encoding/json would quietly repair
	// with U+FFFD: different ids would then collapse into one (and later
	// events be dropped as duplicates), so they are refused instead.
	ruleNotText = "not valid Unicode text (invalid UTF-8, or a \\uD800-\\uDFFF escape without its pair)"
)

// decodeString returns the JSON string raw (a checked JSON value) as Go
// text, with its escapes resolved. It returns the rule raw breaks instead
// if raw is not a string (ruleNotString), or if it holds invalid UTF-8 or
// a surrogate escape without its other half (ruleNotText).
func decodeString(raw []byte) (string, string) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", ruleNotString
	}
	inner := raw[1 : len(raw)-1]
	if !utf8.Valid(inner) {
		return "", ruleNotText
	}
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), ""
	}
	s, ok := unquote(inner)
	if !ok {
		return "", ruleNotText
	}
	return s, ""
}

// unquote resolves the escapes of a checked JSON string's contents, which
// are valid UTF-8. It reports false for a surrogate escape (\\uD800 to
// \\uDFFF) that is not a high one followed by a low one.
func unquote(s []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				rr := hex4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 > len(s) || s[r] != '\\' || s[r+1] != 'u' {
						return "", false
					}
					dec := utf16.DecodeRune(rr, hex4(s[r+2:]))
					if dec == utf8.RuneError {
						return "", false
					}
					rr = dec
					r += 6
				}
				b.WriteRune(rr)
				continue
			default: // " \ /
				b.WriteByte(e)
			}
			r += 2
		default:
			b.WriteByte(c)
			r++
		}
	}
	return b.String(), true
}

// hex4 reads the four hex digits of a checked \u escape.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// parseNumber reads raw (a checked JSON value) as encoding/json reads a
// float64: a JSON number within float64's range.
func parseNumber(raw []byte) (float64, bool) {
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// readObject reads the JSON object raw, storing the raw value of each member
// named in names into the same slot of vals (the last, if a member appears
// twice; nil if it is absent). Names match as encoding/json matches a
// struct's fields: exactly, else case-insensitively (bytes.EqualFold). The
// error is worded for a site owner rather than a Go programmer.
func readObject(raw []byte, names []string, vals [][]byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return errors.New("empty; expected a JSON object")
	}
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return errors.New("not valid JSON")
		}
		return errors.New("must be a JSON object")
	}
	s := scanner{b: raw}
	if s.object(names, vals) {
		s.space()
		if s.i == len(raw) {
			return nil
		}
	}
	// Let encoding/json say where: its offsets are what clients have
	// always been told.
	var syn *json.SyntaxError
	if err := json.Unmarshal(raw, &struct{}{}); errors.As(err, &syn) {
		return errors.New("not valid JSON (at byte " + strconv.FormatInt(syn.Offset, 10) + ")")
	}
	return errors.New("not valid JSON")
}

// maxDepth is encoding/json's nesting limit: deeper input is invalid.
const maxDepth = 10000

// scanner checks JSON as encoding/json does (RFC 8259, strictly) while
// finding the raw values of the members and items its callers want, in one
// pass and without allocating. Each method starts at the first byte of its
// value and leaves i just past it; false means the input is not valid JSON.
type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(nil, nil)
	case c == '[':
		return s.array(nil)
	case c == '"':
		_, ok := s.string()
		return ok
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return false
}

// object reads an object, storing into vals the raw values of the members
// names lists (see readObject).
func (s *scanner) object(names []string, vals [][]byte) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start := s.i
		escaped, ok := s.string()
		if !ok {
			return false
		}
		key := s.b[start:s.i]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		vstart := s.i
		if !s.value() {
			return false
		}
		if len(names) > 0 {
			if k := member(key, escaped, names); k >= 0 {
				vals[k] = s.b[vstart:s.i]
			}
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

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

// array reads an array, appending its items' raw values to items if it is
// not nil.
func (s *scanner) array(items *[][]byte) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		start := s.i
		if !s.value() {
			return false
		}
		if items != nil {
			*items = append(*items, s.b[start:s.i])
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// string reads a string, reporting whether it has escapes.
func (s *scanner) string() (escaped, ok bool) {
	s.i++ // "
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return escaped, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return escaped, false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return escaped, false
					}
				}
				s.i += 5
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			s.i++
		}
	}
	return escaped, false
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// millisThreshold separates seconds from milliseconds in a numeric sentAt:
// 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973. No real
// event is on the wrong side of it in either unit.
const millisThreshold = 1e11

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
		var (
			s  string
			ok bool
		)
		if checked {
			var rule string
			s, rule = decodeString(raw)
			ok = rule == ""
		} else {
			ok = json.Unmarshal(raw, &s) == nil
		}
		if !ok {
			return 0, errors.New("must be a number of seconds or an RFC 3339 time")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, errors.New("string is not an RFC 3339 time (e.g. 2024-05-06T07:08:09.123Z)")
		}
		return TimestampOf(t), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || !checked && !json.Valid(raw) {
		return 0, errors.New("must be a number of seconds or an RFC 3339 time")
	}
	if math.Abs(f) >= millisThreshold {
		f /= 1000
	}
	return Timestamp(math.Round(f*1000) / 1000), nil
}

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
