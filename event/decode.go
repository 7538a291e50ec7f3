package event

// Decoding: a PutEvents body into a Request, in one pass of the scanner
// (scanner.go) that keeps the raw bytes of the members an Event has, then
// each member read by its JSON type with errors that name the member's
// path. The jobs it leans on each have their file: member names
// (fold.go), strings (unquote.go), sentAt (timestamp.go).

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
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
	if s.object(names, vals) && s.end() {
		return nil
	}
	// Let encoding/json say where: its offsets are what clients have
	// always been told.
	var syn *json.SyntaxError
	if err := json.Unmarshal(raw, &struct{}{}); errors.As(err, &syn) {
		return errors.New("not valid JSON (at byte " + strconv.FormatInt(syn.Offset, 10) + ")")
	}
	return errors.New("not valid JSON")
}
