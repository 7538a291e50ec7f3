//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// track tracks a batch of calls in the loader's encoding (see
// tracker.DecodeCalls) and returns a JSON array with each call's outcome,
// in order: its eventId, null when the visitor opted out or denied
// consent, or {"error": why}. It returns tracker.ErrNotCalls, tracking
// nothing, for a batch in any other form.
func (a *api) track(batch string) (string, error) {
	calls, err := tracker.DecodeCalls(batch)
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
		err := c.Err
		var ev event.Event
		if err == nil {
			ev, err = a.tk.Track(c.EventType, c.Properties, c.Options)
		}
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

// stringArg is the first argument when it is a string; anything else is
// no batch, and reads as "" for DecodeCalls to refuse.
func stringArg(args []js.Value) string {
	if v := arg(args, 0); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}
