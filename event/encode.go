package event

import (
	"errors"
	"math"
	"strconv"
)

// The browser writes every event twice as JSON (into storage when it is
// tracked, into its request when it is sent) and the collector's relay
// writes each stored event once more for Amazon Personalize. encoding/json
// does that by reflection, which in WebAssembly cost a third of the main
// thread's time for a burst of events. These encoders write the same bytes
// as json.Marshal (encode_test.go holds them to it) without reflection.

var errNotFinite = errors.New("json: unsupported value: a number that is not finite")

// MarshalRequest is json.Marshal(req): a PutEvents body.
func MarshalRequest(req Request) ([]byte, error) {
	b := make([]byte, 0, 128+len(req.EventList)*320)
	b = append(b, `{"trackingId":`...)
	b = AppendJSONString(b, req.TrackingID)
	b = append(b, `,"sessionId":`...)
	b = AppendJSONString(b, req.SessionID)
	if req.UserID != nil {
		b = append(b, `,"userId":`...)
		b = AppendJSONString(b, *req.UserID)
	}
	b = append(b, `,"eventList":`...)
	if req.EventList == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range req.EventList {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendEvent(b, &req.EventList[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// AppendEvent appends json.Marshal(e) to b.
func AppendEvent(b []byte, e *Event) ([]byte, error) {
	b = append(b, '{')
	if e.EventID != nil {
		b = append(b, `"eventId":`...)
		b = AppendJSONString(b, *e.EventID)
		b = append(b, ',')
	}
	b = append(b, `"eventType":`...)
	b = AppendJSONString(b, e.EventType)
	if e.EventValue != nil {
		b = append(b, `,"eventValue":`...)
		var err error
		if b, err = appendFloat(b, *e.EventValue); err != nil {
			return nil, err
		}
	}
	if e.ItemID != nil {
		b = append(b, `,"itemId":`...)
		b = AppendJSONString(b, *e.ItemID)
	}
	if len(e.Impression) > 0 {
		b = append(b, `,"impression":[`...)
		for i, s := range e.Impression {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if e.RecommendationID != nil {
		b = append(b, `,"recommendationId":`...)
		b = AppendJSONString(b, *e.RecommendationID)
	}
	if e.MetricAttribution != nil {
		b = append(b, `,"metricAttribution":{"eventAttributionSource":`...)
		b = AppendJSONString(b, e.MetricAttribution.EventAttributionSource)
		b = append(b, '}')
	}
	if e.Properties != nil {
		b = append(b, `,"properties":`...)
		b = AppendJSONString(b, *e.Properties)
	}
	b = append(b, `,"sentAt":`...)
	b, err := e.SentAt.AppendJSON(b)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendFloat writes f as encoding/json does: like JavaScript's
// Number.prototype.toString.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errNotFinite
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
