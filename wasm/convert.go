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

// jsError returns err as a JavaScript Error.
func jsError(err error) js.Value {
	return js.Global().Get("Error").New(err.Error())
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
