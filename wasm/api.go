//go:build js && wasm

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"github.com/google/uuid"
	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// options are the settings of __trackletWasm.create beyond tracker.Config.
type options struct {
	endpoint   string
	storage    bool   // persist the queue in localStorage
	maxBytes   int    // bound of the saved queue
	respectGPC bool   // treat Global Privacy Control / Do Not Track as an opt-out
	debug      bool   // log deliveries to the console
	compress   bool   // gzip bodies over compressMin bytes
	unload     bool   // send on pagehide / visibilitychange
	tab        string // names this page's claim on saved events; the loader's
	sender     string // URL of tracklet-sender.js, the sending Worker's script
}

// newAPI creates a tracker from a JS config object and returns the object of
// functions page code calls.
func newAPI(config js.Value) (js.Value, error) {
	cfg, opt, err := readConfig(config)
	if err != nil {
		return js.Value{}, err
	}
	a := &api{opt: opt, listeners: map[string][]js.Value{}}
	if opt.storage {
		maxEvents := cfg.MaxQueue
		if maxEvents <= 0 {
			maxEvents = tracker.DefaultMaxQueue
		}
		a.store = newLocalStore(cfg.TrackingID, cmp.Or(opt.tab, newTabID()), maxEvents, opt.maxBytes)
		cfg.Store = a.store
		if a.store.OptedOut() {
			cfg.Consent = tracker.ConsentDenied
		}
	}
	if opt.respectGPC && privacySignal() {
		cfg.Consent = tracker.ConsentDenied
	}
	cfg.Notify = a.notify
	a.transport = newFetchTransport(opt.endpoint, opt.compress, opt.sender)
	tk, err := tracker.New(cfg, a.transport, tracker.SystemClock{})
	if err != nil {
		return js.Value{}, err
	}
	a.tk = tk
	if a.store != nil {
		go func() {
			for range time.Tick(heartbeat) {
				a.store.Heartbeat()
			}
		}()
	}
	if opt.unload {
		a.listenForUnload()
	}
	return a.object(), nil
}

// api is one tracker as JavaScript sees it.
type api struct {
	tk        *tracker.Tracker
	store     *localStore // nil without storage
	transport *fetchTransport
	opt       options

	mu        sync.Mutex
	listeners map[string][]js.Value // by notice kind: sent, error, dropped
}

func (a *api) object() js.Value {
	tk := a.tk
	return js.ValueOf(map[string]any{
		// track(batch) → JSON string of outcomes. batch is a JSON string
		// of the calls the page made, [[eventType, properties, options, t],
		// ...] in the loader's encoding (see tracker.DecodeCalls), each
		// tracked at its time t, the default sentAt; the outcomes, in
		// order, are its eventId, null when the visitor opted out or denied
		// consent, or {"error": why}. A batch in another form comes back
		// as an Error, nothing tracked.
		"track": js.FuncOf(func(_ js.Value, args []js.Value) any {
			out, err := a.track(stringArg(args))
			if err != nil {
				return jsError(err)
			}
			return out
		}),
		// buildEvent(batch) → wire-form object of the batch's one call; an
		// invalid event comes back as an Error value (Go cannot throw).
		"buildEvent": js.FuncOf(func(_ js.Value, args []js.Value) any {
			calls, err := tracker.DecodeCalls(stringArg(args))
			if err == nil && len(calls) != 1 {
				err = tracker.ErrNotCalls
			}
			if err != nil {
				return jsError(err)
			}
			c := calls[0]
			if c.Err != nil {
				return jsError(c.Err)
			}
			ev, err := tk.BuildEvent(c.EventType, c.Properties, c.Options)
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
		// reset(sessionId?): the loader passes the new session's id.
		"reset": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if id := arg(args, 0); id.Type() == js.TypeString && id.String() != "" {
				tk.ResetTo(id.String())
			} else {
				tk.Reset()
			}
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
			errs := 0
			if a.store != nil {
				errs = a.store.Errors()
			}
			return map[string]any{
				"queued": s.Queued, "sent": s.Sent, "failed": s.Failed, "dropped": s.Dropped,
				"retries": s.Retries, "stored": s.Stored, "storedBytes": s.StoredBytes, "storageErrors": errs,
			}
		}),
		"sessionId": js.FuncOf(func(js.Value, []js.Value) any {
			return tk.SessionID()
		}),
		// consent(granted) ends a pending consent, either way.
		"consent": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if arg(args, 0).Truthy() {
				tk.SetConsent(tracker.ConsentGranted)
			} else {
				tk.SetConsent(tracker.ConsentDenied)
			}
			return js.Undefined()
		}),
		// optOut/optIn are remembered across visits.
		"optOut": js.FuncOf(func(js.Value, []js.Value) any {
			if a.store != nil {
				a.store.SetOptOut(true)
			}
			tk.SetConsent(tracker.ConsentDenied)
			return js.Undefined()
		}),
		"optIn": js.FuncOf(func(js.Value, []js.Value) any {
			if a.store != nil {
				a.store.SetOptOut(false)
			}
			tk.SetConsent(tracker.ConsentGranted)
			return js.Undefined()
		}),
		"consentState": js.FuncOf(func(js.Value, []js.Value) any {
			return [...]string{"granted", "pending", "denied"}[tk.Consent()]
		}),
		// on(kind, fn) → a function that removes fn. kind is "sent",
		// "error" (a send failed and will be retried) or "dropped".
		"on": js.FuncOf(func(_ js.Value, args []js.Value) any {
			kind, fn := arg(args, 0), arg(args, 1)
			if kind.Type() != js.TypeString || fn.Type() != js.TypeFunction {
				return jsError(errors.New(`on: expected on("sent"|"error"|"dropped", function)`))
			}
			switch k := kind.String(); k {
			case "sent", "error", "dropped":
				return a.on(k, fn)
			default:
				return jsError(errors.New(`on: unknown kind "` + k + `" (known: sent, error, dropped)`))
			}
		}),
	})
}

// sync saves the events just tracked, in one storage item.
func (a *api) sync() {
	if a.store != nil {
		a.store.Sync()
	}
}

// on adds a listener and returns the JS function that removes it.
func (a *api) on(kind string, fn js.Value) js.Func {
	a.mu.Lock()
	a.listeners[kind] = append(a.listeners[kind], fn)
	a.mu.Unlock()
	return js.FuncOf(func(js.Value, []js.Value) any {
		a.mu.Lock()
		defer a.mu.Unlock()
		ls := a.listeners[kind]
		for i, l := range ls {
			if l.Equal(fn) {
				a.listeners[kind] = append(ls[:i:i], ls[i+1:]...)
				break
			}
		}
		return js.Undefined()
	})
}

// notify tells the page's listeners what happened to some events. Each
// listener runs in a task of its own (setTimeout), so one that throws
// cannot break the tracker or the other listeners.
func (a *api) notify(n tracker.Notice) {
	kind := n.Kind.String()
	info := map[string]any{"type": kind, "count": len(n.EventIDs)}
	ids := make([]any, len(n.EventIDs))
	for i, id := range n.EventIDs {
		ids[i] = id
	}
	info["eventIds"] = ids
	if n.Err != nil {
		info["error"] = n.Err.Error()
	}
	if n.Kind == tracker.Failed {
		info["retryIn"] = n.RetryIn.Milliseconds()
	}
	if a.opt.debug {
		js.Global().Get("console").Call("debug", "tracklet: "+kind, js.ValueOf(info))
	}
	a.mu.Lock()
	ls := append([]js.Value(nil), a.listeners[kind]...)
	a.mu.Unlock()
	for _, fn := range ls {
		js.Global().Call("setTimeout", fn, 0, js.ValueOf(info))
	}
}

func (a *api) debugf(msg string) {
	if a.opt.debug {
		js.Global().Get("console").Call("debug", "tracklet: "+msg)
	}
}

// listenForUnload sends what is queued when the page is hidden or left,
// the last moment a page reliably runs code. No unload listener: it would
// keep the page out of the back/forward cache.
func (a *api) listenForUnload() {
	win, doc := js.Global(), js.Global().Get("document")
	if win.Get("addEventListener").Type() != js.TypeFunction || doc.Type() != js.TypeObject {
		return // not a browser page (a worker, or Node in tests)
	}
	handler := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := arg(args, 0)
		typ := ev.Get("type").String()
		if typ == "visibilitychange" && doc.Get("visibilityState").String() != "hidden" {
			return nil
		}
		a.transport.SendCompressing() // older than what is queued
		n := a.tk.Unload(a.transport.SendKeepalive)
		if n > 0 {
			a.debugf(typ + ": handed " + strconv.Itoa(n) + " events to keepalive requests")
		}
		if typ == "pagehide" && !ev.Get("persisted").Truthy() && a.store != nil {
			a.store.Release() // gone for good: the next page may take the rest now
		}
		return nil
	})
	win.Call("addEventListener", "pagehide", handler)
	doc.Call("addEventListener", "visibilitychange", handler)
}

// privacySignal reports whether the browser sends Global Privacy Control
// or Do Not Track.
func privacySignal() bool {
	nav := js.Global().Get("navigator")
	if nav.Type() != js.TypeObject {
		return false
	}
	return nav.Get("globalPrivacyControl").Equal(js.ValueOf(true)) ||
		nav.Get("doNotTrack").Equal(js.ValueOf("1")) ||
		js.Global().Get("doNotTrack").Equal(js.ValueOf("1"))
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

// newTabID names this page's claim on saved events.
func newTabID() string {
	return uuid.NewString()
}
