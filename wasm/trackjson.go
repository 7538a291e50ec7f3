//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// plainCall is one track call of trackJSON's batch.
type plainCall struct {
	eventType string
	props     map[string]any
	opts      tracker.Options
	at        time.Time // when the page made the call: the default sentAt
}

// errNotPlain refuses a trackJSON batch that is not in the form the loader
// promises; the loader then hands the calls over one by one (trackMany).
var errNotPlain = errors.New("trackJSON: not a batch of plain calls")

// parsePlainCalls reads trackJSON's batch, a JSON array of
// [eventType, properties, options, t]. The loader sends only calls whose
// arguments survive JSON unchanged: eventType a string (or null),
// properties null or an object of strings, booleans and finite numbers,
// options null or an object of known options with JSON values, t the
// call's epoch milliseconds. So each call reads as readProperties and
// readOptions would read it from the JS values themselves; anything else
// fails the whole batch before any call is tracked.
func parsePlainCalls(s string) ([]plainCall, error) {
	raw, ok := decodeCalls(s)
	if !ok {
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, errNotPlain
		}
	}
	calls := make([]plainCall, len(raw))
	for i, r := range raw {
		c := &calls[i]
		switch et := r[0].(type) {
		case string:
			c.eventType = et
		case nil:
		default:
			return nil, errNotPlain
		}
		switch p := r[1].(type) {
		case map[string]any:
			for _, v := range p {
				switch v.(type) {
				case string, float64, bool:
				default:
					return nil, errNotPlain
				}
			}
			c.props = p
		case nil:
		default:
			return nil, errNotPlain
		}
		switch o := r[2].(type) {
		case map[string]any:
			opts, ok := plainOptions(o)
			if !ok {
				return nil, errNotPlain
			}
			c.opts = opts
		case nil:
		default:
			return nil, errNotPlain
		}
		t, ok := r[3].(float64)
		if !ok {
			return nil, errNotPlain
		}
		c.at = msToTime(t)
	}
	return calls, nil
}

// plainOptions is readOptions for options that came through JSON; null
// members are absent, as undefined and null are there.
func plainOptions(m map[string]any) (o tracker.Options, ok bool) {
	str := func(v any) (*string, bool) {
		s, ok := v.(string)
		return &s, ok
	}
	for k, v := range m {
		if v == nil {
			if !optionNames[k] {
				return o, false
			}
			continue
		}
		switch k {
		case "eventId":
			o.EventID, ok = str(v)
		case "itemId":
			o.ItemID, ok = str(v)
		case "recommendationId":
			o.RecommendationID, ok = str(v)
		case "metricAttribution":
			o.MetricAttribution, ok = str(v)
		case "eventValue":
			var f float64
			f, ok = v.(float64)
			o.EventValue = event.Float(f)
		case "impression":
			var items []any
			items, ok = v.([]any)
			o.Impression = make([]string, len(items))
			for i, item := range items {
				if o.Impression[i], ok = item.(string); !ok {
					break
				}
			}
		case "sentAt":
			var ms float64
			ms, ok = v.(float64)
			o.SentAt = msToTime(ms)
		default:
			ok = false
		}
		if !ok {
			return o, false
		}
	}
	return o, true
}

// trackJSON tracks a batch of plain calls (see parsePlainCalls) and
// returns a JSON array with each call's outcome, in order: its eventId,
// null when the visitor opted out or denied consent, or {"error": why}.
// One string each way replaces the dozens of property reads and calls
// across the JS boundary that trackMany makes per call. It returns
// errNotPlain, tracking nothing, for a batch in any other form.
func (a *api) trackJSON(s string) (string, error) {
	calls, err := parsePlainCalls(s)
	if err != nil {
		return "", err
	}
	// Written straight into one buffer: an eventId costs no string of
	// its own.
	out := make([]byte, 0, 1+len(calls)*39)
	out = append(out, '[')
	for i, c := range calls {
		if i > 0 {
			out = append(out, ',')
		}
		opts := c.opts
		if opts.SentAt.IsZero() {
			opts.SentAt = c.at
		}
		ev, err := a.tk.Track(c.eventType, c.props, opts)
		switch {
		case errors.Is(err, tracker.ErrNoConsent):
			out = append(out, "null"...)
		case err != nil:
			a.debugf("track rejected: " + err.Error())
			out = append(out, `{"error":`...)
			out = event.AppendJSONString(out, err.Error())
			out = append(out, '}')
		default:
			out = event.AppendJSONString(out, *ev.EventID)
		}
	}
	out = append(out, ']')
	a.sync()
	return string(out), nil
}
