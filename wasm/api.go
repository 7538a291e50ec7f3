//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// newAPI creates a tracker from a JS config object and returns the object of
// functions page code calls.
func newAPI(config js.Value) (js.Value, error) {
	cfg, endpoint, err := readConfig(config)
	if err != nil {
		return js.Value{}, err
	}
	tk, err := tracker.New(cfg, newFetchTransport(endpoint), tracker.SystemClock{})
	if err != nil {
		return js.Value{}, err
	}
	return js.ValueOf(map[string]any{
		// track(eventType, properties?, options?) → Promise<eventId>
		"track": js.FuncOf(func(_ js.Value, args []js.Value) any {
			ev, err := buildWith(tk.Track, args)
			if err != nil {
				return rejected(err)
			}
			return resolved(*ev.EventID)
		}),
		// buildEvent(eventType, properties?, options?) → wire-form object;
		// throws nothing: an invalid event comes back as an Error value.
		"buildEvent": js.FuncOf(func(_ js.Value, args []js.Value) any {
			ev, err := buildWith(tk.BuildEvent, args)
			if err != nil {
				return jsError(err)
			}
			return toJS(ev)
		}),
		// validate(object) → null, or a description of every broken rule.
		"validate": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if err := validateWire(arg(args, 0)); err != nil {
				return err.Error()
			}
			return js.Null()
		}),
		"identify": js.FuncOf(func(_ js.Value, args []js.Value) any {
			id := arg(args, 0)
			if id.Type() != js.TypeString {
				return jsError(&event.FieldError{Field: "userId", Rule: "must be a string"})
			}
			if err := tk.Identify(id.String()); err != nil {
				return jsError(err)
			}
			return js.Undefined()
		}),
		"reset": js.FuncOf(func(js.Value, []js.Value) any {
			tk.Reset()
			return js.Undefined()
		}),
		// flush() → Promise<{sent, failed}>
		"flush": js.FuncOf(func(js.Value, []js.Value) any {
			return promise(func() (any, error) {
				res := tk.Flush(context.Background())
				return map[string]any{"sent": res.Sent, "failed": res.Failed}, nil
			})
		}),
		"stats": js.FuncOf(func(js.Value, []js.Value) any {
			s := tk.Stats()
			return map[string]any{"queued": s.Queued, "sent": s.Sent, "failed": s.Failed, "dropped": s.Dropped}
		}),
		"sessionId": js.FuncOf(func(js.Value, []js.Value) any {
			return tk.SessionID()
		}),
	}), nil
}

// buildWith reads (eventType, properties, options) from args and hands them
// to build, Track or BuildEvent.
func buildWith(build func(string, map[string]any, tracker.Options) (event.Event, error), args []js.Value) (event.Event, error) {
	et := arg(args, 0)
	eventType := ""
	switch et.Type() {
	case js.TypeString:
		eventType = et.String()
	case js.TypeUndefined, js.TypeNull:
		// Validate words the missing member.
	default:
		return event.Event{}, &event.FieldError{Field: "eventType", Rule: "must be a string"}
	}
	props, err := readProperties(arg(args, 1))
	if err != nil {
		return event.Event{}, err
	}
	opts, err := readOptions(arg(args, 2))
	if err != nil {
		return event.Event{}, err
	}
	return build(eventType, props, opts)
}

// validateWire checks an event object in wire form, as the collector would.
func validateWire(v js.Value) error {
	if v.Type() != js.TypeObject {
		return &event.FieldError{Field: "body", Rule: "must be an object"}
	}
	s := js.Global().Get("JSON").Call("stringify", v)
	if s.Type() != js.TypeString {
		return &event.FieldError{Field: "body", Rule: "cannot be written as JSON"}
	}
	ev, err := event.DecodeEvent([]byte(s.String()))
	if err != nil {
		return err
	}
	return ev.Validate()
}

// toJS returns ev in wire form as a plain JS object.
func toJS(ev event.Event) js.Value {
	b, err := json.Marshal(ev)
	if err != nil {
		return jsError(err)
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

// msToTime converts epoch milliseconds, the unit of Date.now(), to a time.
func msToTime(ms float64) time.Time {
	return time.UnixMilli(int64(ms))
}
