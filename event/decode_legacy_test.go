package event

// The decoder as it was before the one-pass rewrite (commit 99744c0),
// kept only here so that FuzzDecodeDifferential can hold the new one to
// exactly its results and messages. It reads sentAt with ParseTimestamp,
// whose encoding/json path is the legacy code unchanged: a copy of it here
// would only be compared with itself.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// legacyDecodeRequest parses a PutEvents body.
//
// It is lenient where real clients are sloppy: members it does not know are
// ignored, a null member counts as absent, and sentAt may be given in
// milliseconds or as an RFC 3339 string (see ParseTimestamp). Every other
// member must have its documented JSON type; a mismatch is reported, with the
// member's path, in the Errors returned. legacyDecodeRequest does not check limits:
// call Request.Validate for that.
func legacyDecodeRequest(data []byte) (*Request, error) {
	var w struct {
		TrackingID json.RawMessage `json:"trackingId"`
		SessionID  json.RawMessage `json:"sessionId"`
		UserID     json.RawMessage `json:"userId"`
		EventList  json.RawMessage `json:"eventList"`
	}
	if err := legacyDecodeObject(data, &w); err != nil {
		return nil, Errors{{Field: "body", Rule: err.Error()}}
	}
	var (
		d   legacyDecoder
		req Request
	)
	req.TrackingID = d.requiredString(w.TrackingID, "trackingId")
	req.SessionID = d.requiredString(w.SessionID, "sessionId")
	req.UserID = d.string(w.UserID, "userId")
	var list []json.RawMessage
	if d.array(w.EventList, "eventList", &list) {
		req.EventList = make([]Event, len(list))
		for i, raw := range list {
			d.event(raw, "eventList["+strconv.Itoa(i)+"]", &req.EventList[i])
		}
	}
	if err := d.errs.errOrNil(); err != nil {
		return nil, err
	}
	return &req, nil
}

// legacyDecodeEvent parses one event in wire form, as legacyDecodeRequest parses each of
// a request's events.
func legacyDecodeEvent(data []byte) (*Event, error) {
	var d legacyDecoder
	var e Event
	d.event(data, "", &e)
	if err := d.errs.errOrNil(); err != nil {
		return nil, err
	}
	return &e, nil
}

// legacyWireEvent holds an event's members undecoded, so that each can be read
// with its own rule and reported with its own path.
type legacyWireEvent struct {
	EventID           json.RawMessage `json:"eventId"`
	EventType         json.RawMessage `json:"eventType"`
	EventValue        json.RawMessage `json:"eventValue"`
	ItemID            json.RawMessage `json:"itemId"`
	Impression        json.RawMessage `json:"impression"`
	RecommendationID  json.RawMessage `json:"recommendationId"`
	MetricAttribution json.RawMessage `json:"metricAttribution"`
	Properties        json.RawMessage `json:"properties"`
	SentAt            json.RawMessage `json:"sentAt"`
}

// legacyDecoder reads wire members into Go values, collecting one error per
// member that has the wrong JSON type.
type legacyDecoder struct{ errs Errors }

func (d *legacyDecoder) fail(path, rule string) {
	d.errs = append(d.errs, &FieldError{Field: path, Rule: rule})
}

func (d *legacyDecoder) event(raw json.RawMessage, path string, e *Event) {
	var w legacyWireEvent
	if err := legacyDecodeObject(raw, &w); err != nil {
		d.fail(legacyOrBody(path), err.Error())
		return
	}
	e.EventID = d.string(w.EventID, join(path, "eventId"))
	e.EventType = d.requiredString(w.EventType, join(path, "eventType"))
	e.ItemID = d.string(w.ItemID, join(path, "itemId"))
	e.RecommendationID = d.string(w.RecommendationID, join(path, "recommendationId"))
	e.Properties = d.string(w.Properties, join(path, "properties"))
	if !legacyIsNull(w.EventValue) {
		var f float64
		if err := json.Unmarshal(w.EventValue, &f); err != nil {
			d.fail(join(path, "eventValue"), "must be a number")
		} else {
			e.EventValue = &f
		}
	}
	var items []json.RawMessage
	if d.array(w.Impression, join(path, "impression"), &items) {
		e.Impression = make([]string, len(items))
		for i, item := range items {
			if s := d.string(item, join(path, "impression["+strconv.Itoa(i)+"]")); s != nil {
				e.Impression[i] = *s
			}
		}
	}
	if !legacyIsNull(w.MetricAttribution) {
		var m struct {
			Source json.RawMessage `json:"eventAttributionSource"`
		}
		if err := legacyDecodeObject(w.MetricAttribution, &m); err != nil {
			d.fail(join(path, "metricAttribution"), err.Error())
		} else {
			src := d.requiredString(m.Source, join(path, "metricAttribution.eventAttributionSource"))
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: src}
		}
	}
	if !legacyIsNull(w.SentAt) {
		ts, err := ParseTimestamp(w.SentAt)
		if err != nil {
			d.fail(join(path, "sentAt"), err.Error())
		}
		e.SentAt = ts
	}
}

// string reads an optional string member; absent and null give nil.
func (d *legacyDecoder) string(raw json.RawMessage, path string) *string {
	if legacyIsNull(raw) {
		return nil
	}
	if raw[0] != '"' {
		d.fail(path, "must be a string")
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "must be a string")
		return nil
	}
	if legacyRepaired(raw, s) {
		d.fail(path, ruleNotText)
		return nil
	}
	return &s
}

// legacyRepaired reports whether encoding/json, unquoting raw into s,
// replaced invalid UTF-8 or a lone surrogate with U+FFFD: s then holds more
// U+FFFD than raw spells, literally or as a \ufffd escape.
func legacyRepaired(raw []byte, s string) bool {
	if !utf8.Valid(raw) {
		return true
	}
	spelled := strings.Count(string(raw), "\uFFFD")
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+5 < len(raw) && raw[i+1] == 'u' && strings.EqualFold(string(raw[i+2:i+6]), "fffd") {
			spelled++
		}
		i++ // the escaped character
	}
	return strings.Count(s, "\uFFFD") > spelled
}

// requiredString reads a string member whose absence Validate reports, so
// here absent simply reads as "".
func (d *legacyDecoder) requiredString(raw json.RawMessage, path string) string {
	if s := d.string(raw, path); s != nil {
		return *s
	}
	return ""
}

// array reads an optional JSON array into items, reporting whether there
// was one.
func (d *legacyDecoder) array(raw json.RawMessage, path string, items *[]json.RawMessage) bool {
	if legacyIsNull(raw) {
		return false
	}
	if raw[0] != '[' || json.Unmarshal(raw, items) != nil {
		d.fail(path, "must be an array")
		return false
	}
	if *items == nil {
		*items = []json.RawMessage{} // present but empty: Validate says so
	}
	return true
}

func legacyIsNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func legacyOrBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// legacyDecodeObject unmarshals a JSON object into v and words the failure for a
// site owner rather than a Go programmer.
func legacyDecodeObject(raw []byte, v any) error {
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
	if err := json.Unmarshal(raw, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return errors.New("not valid JSON (at byte " + strconv.FormatInt(syn.Offset, 10) + ")")
		}
		return errors.New("not valid JSON")
	}
	return nil
}
