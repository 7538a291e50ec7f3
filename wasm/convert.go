//go:build js && wasm

package main

import (
	"math"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// defaultMaxInFlight is the browser's default of tracker.Config.MaxInFlight.
// Twice Chromium's six connections per host: the Worker's fetch queues
// the extra requests in the network stack, which starts each one as a
// connection frees, instead of waiting for the page's busy main thread
// to hear an answer and post the next body (stored-ms for a burst of
// 1000: 234-236 ms against 255-260 with 6; 24 gained nothing more).
const defaultMaxInFlight = 12

// readConfig reads the object given to __trackletWasm.create. Durations are
// in milliseconds, as everywhere in JavaScript; numbers and booleans may
// come as the strings of data- attributes.
func readConfig(v js.Value) (cfg tracker.Config, opt options, err error) {
	if v.Type() != js.TypeObject {
		return cfg, opt, &event.FieldError{Field: "config", Rule: "must be an object"}
	}
	r := reader{obj: v}
	cfg.TrackingID = r.str("trackingId")
	opt.endpoint = r.str("endpoint")
	cfg.SessionID = r.str("sessionId")
	cfg.UserID = r.str("userId")
	cfg.BatchSize = r.int("batchSize")
	cfg.FlushInterval = r.ms("flushInterval")
	cfg.MaxQueue = r.int("maxQueue")
	cfg.MaxAttempts = r.int("maxAttempts")
	cfg.MaxAge = r.ms("maxAge")
	cfg.RetryBase = r.ms("retryBase")
	cfg.RetryMax = r.ms("retryMax")
	cfg.SessionTimeout = r.ms("sessionTimeout")
	cfg.MaxInFlight = r.int("maxInFlight")
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	opt.storage = r.bool("storage", true)
	opt.maxBytes = r.int("maxStorageBytes")
	if opt.maxBytes <= 0 {
		opt.maxBytes = defaultMaxStoreBytes
	}
	opt.respectGPC = r.bool("respectGpc", false)
	opt.debug = r.bool("debug", false)
	opt.compress = r.bool("compress", true)
	opt.unload = r.bool("unload", true)
	opt.tab = r.str("tab")
	opt.sender = r.str("senderUrl")
	useNatives(v.Get("natives"))
	switch c := r.str("consent"); c {
	case "", "granted":
	case "pending":
		cfg.Consent = tracker.ConsentPending
	case "denied":
		cfg.Consent = tracker.ConsentDenied
	default:
		r.fail("consent", `must be "granted", "pending" or "denied"`)
	}
	if r.err != nil {
		return cfg, opt, r.err
	}
	if opt.endpoint == "" {
		return cfg, opt, &event.FieldError{Field: "endpoint", Rule: "missing or empty"}
	}
	return cfg, opt, nil
}

// readProperties turns a JS object of scalars into the map EncodeProperties
// takes. Values of other types are passed on as nil, for EncodeProperties to
// reject with the key's name.
func readProperties(v js.Value) (map[string]any, error) {
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return nil, nil
	case js.TypeObject:
		if isArray(v) {
			break
		}
		keys := js.Global().Get("Object").Call("keys", v)
		props := make(map[string]any, keys.Length())
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			switch val := v.Get(k); val.Type() {
			case js.TypeString:
				props[k] = val.String()
			case js.TypeNumber:
				props[k] = val.Float()
			case js.TypeBoolean:
				props[k] = val.Bool()
			default:
				props[k] = nil
			}
		}
		return props, nil
	}
	return nil, &event.FieldError{Field: "properties", Rule: `must be an object (e.g. {itemId: "movie1"})`}
}

// optionNames are the members options may carry; any other is a typo that
// would otherwise be silently lost.
var optionNames = map[string]bool{
	"eventId": true, "itemId": true, "eventValue": true, "impression": true,
	"recommendationId": true, "metricAttribution": true, "sentAt": true,
}

// readOptions reads track's third argument.
func readOptions(v js.Value) (tracker.Options, error) {
	var o tracker.Options
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return o, nil
	case js.TypeObject:
	default:
		return o, &event.FieldError{Field: "options", Rule: "must be an object"}
	}
	keys := js.Global().Get("Object").Call("keys", v)
	for i := 0; i < keys.Length(); i++ {
		if k := keys.Index(i).String(); !optionNames[k] {
			return o, &event.FieldError{Field: "options." + k, Rule: "unknown option (known: " + knownOptions() + ")"}
		}
	}
	r := reader{obj: v}
	o.EventID = r.optStr("eventId")
	o.ItemID = r.optStr("itemId")
	o.RecommendationID = r.optStr("recommendationId")
	o.MetricAttribution = r.optStr("metricAttribution")
	if ev := v.Get("eventValue"); !ev.IsUndefined() && !ev.IsNull() {
		if ev.Type() != js.TypeNumber {
			return o, &event.FieldError{Field: "eventValue", Rule: "must be a number"}
		}
		o.EventValue = event.Float(ev.Float())
	}
	if imp := v.Get("impression"); !imp.IsUndefined() && !imp.IsNull() {
		if !isArray(imp) {
			return o, &event.FieldError{Field: "impression", Rule: "must be an array of item ids"}
		}
		o.Impression = make([]string, imp.Length())
		for i := range o.Impression {
			item := imp.Index(i)
			if item.Type() != js.TypeString {
				return o, &event.FieldError{Field: "impression[" + strconv.Itoa(i) + "]", Rule: "must be a string"}
			}
			o.Impression[i] = item.String()
		}
	}
	if r.err != nil {
		return o, r.err
	}
	t, err := readTime(v.Get("sentAt"))
	if err != nil {
		return o, err
	}
	o.SentAt = t
	return o, nil
}

// readTime reads options.sentAt: a Date or epoch milliseconds.
func readTime(v js.Value) (time.Time, error) {
	var ms float64
	switch {
	case v.IsUndefined() || v.IsNull():
		return time.Time{}, nil
	case v.Type() == js.TypeNumber:
		ms = v.Float()
	case v.InstanceOf(js.Global().Get("Date")):
		ms = v.Call("getTime").Float()
	default:
		return time.Time{}, &event.FieldError{Field: "sentAt", Rule: "must be a Date or a number of milliseconds since 1970"}
	}
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return time.Time{}, &event.FieldError{Field: "sentAt", Rule: "not a finite number (an invalid Date?)"}
	}
	return msToTime(ms), nil
}

func knownOptions() string {
	return "eventId, itemId, eventValue, impression, recommendationId, metricAttribution, sentAt"
}

// reader reads typed members of a JS object, keeping the first error.
type reader struct {
	obj js.Value
	err error
}

func (r *reader) optStr(name string) *string {
	v := r.obj.Get(name)
	if v.IsUndefined() || v.IsNull() {
		return nil
	}
	if v.Type() != js.TypeString {
		r.fail(name, "must be a string")
		return nil
	}
	s := v.String()
	return &s
}

func (r *reader) str(name string) string {
	if p := r.optStr(name); p != nil {
		return *p
	}
	return ""
}

func (r *reader) int(name string) int {
	v := r.obj.Get(name)
	if v.IsUndefined() || v.IsNull() {
		return 0
	}
	// Values from data- attributes arrive as strings.
	if v.Type() == js.TypeString {
		n, err := strconv.Atoi(strings.TrimSpace(v.String()))
		if err != nil {
			r.fail(name, "must be a whole number")
		}
		return n
	}
	f := v.Float()
	if v.Type() != js.TypeNumber || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		r.fail(name, "must be a whole number")
		return 0
	}
	return int(f)
}

// ms reads a duration in milliseconds.
func (r *reader) ms(name string) time.Duration {
	return time.Duration(r.int(name)) * time.Millisecond
}

// bool reads a flag: true, false, or a data- attribute's string, where a
// bare attribute ("") means true.
func (r *reader) bool(name string, def bool) bool {
	v := r.obj.Get(name)
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return def
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeString:
		switch strings.TrimSpace(strings.ToLower(v.String())) {
		case "", "true", "1", "yes", "on":
			return true
		case "false", "0", "no", "off":
			return false
		}
	}
	r.fail(name, "must be true or false")
	return def
}

func (r *reader) fail(field, rule string) {
	if r.err == nil {
		r.err = &event.FieldError{Field: field, Rule: rule}
	}
}

func isArray(v js.Value) bool {
	return js.Global().Get("Array").Call("isArray", v).Bool()
}

// jsError returns err as a JavaScript Error.
func jsError(err error) js.Value {
	return js.Global().Get("Error").New(err.Error())
}

func resolved(v any) js.Value {
	return js.Global().Get("Promise").Call("resolve", v)
}

func rejected(err error) js.Value {
	return js.Global().Get("Promise").Call("reject", jsError(err))
}

// promise runs f on a goroutine, so it may wait for the network, and
// returns a Promise of its result.
func promise(f func() (any, error)) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := f()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	// The Promise constructor calls the executor at once, so it can go.
	p := js.Global().Get("Promise").New(executor)
	executor.Release()
	return p
}

// await waits for a JS promise; call it only from a goroutine of its own,
// never from a js.FuncOf callback.
func await(p js.Value) (js.Value, error) {
	type outcome struct {
		v   js.Value
		err js.Value
	}
	ch := make(chan outcome, 1)
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- outcome{v: arg(args, 0)}
		return nil
	})
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- outcome{err: arg(args, 0)}
		return nil
	})
	defer onOK.Release()
	defer onErr.Release()
	jsThen(p, onOK, onErr)
	o := <-ch
	if !o.err.IsUndefined() {
		return js.Value{}, jsErr{o.err}
	}
	return o.v, nil
}

// jsErr is a JS rejection reason as a Go error.
type jsErr struct{ v js.Value }

func (e jsErr) Error() string {
	if e.v.Type() == js.TypeObject && e.v.Get("message").Type() == js.TypeString {
		return e.v.Get("message").String()
	}
	return js.Global().Call("String", e.v).String()
}
