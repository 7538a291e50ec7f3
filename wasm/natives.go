//go:build js && wasm

package main

import (
	"sync"
	"syscall/js"
)

// natives are the browser functions the module calls, taken once: the
// loader's own references when it passes them (config.natives: {fetch,
// then}), taken before the page could replace window.fetch or
// Promise.prototype.then, and the globals otherwise. Nothing here is
// compiled from a string: a Content-Security-Policy without 'unsafe-eval'
// allows all of it.
type natives struct {
	fetch js.Value // window.fetch
	then  js.Value // Promise.prototype.then
	apply js.Value // Reflect.apply
}

var (
	nativesMu sync.Mutex
	jsNatives *natives
)

// useNatives sets the natives from a config's natives member, once: the
// first tracker of the page decides.
func useNatives(v js.Value) {
	nativesMu.Lock()
	defer nativesMu.Unlock()
	if jsNatives != nil {
		return
	}
	n := &natives{fetch: js.Global().Get("fetch"), then: js.Global().Get("Promise").Get("prototype").Get("then"), apply: js.Global().Get("Reflect").Get("apply")}
	if v.Type() == js.TypeObject {
		if f := v.Get("fetch"); f.Type() == js.TypeFunction {
			n.fetch = f
		}
		if f := v.Get("then"); f.Type() == js.TypeFunction {
			n.then = f
		}
	}
	jsNatives = n
}

func getNatives() *natives {
	useNatives(js.Undefined())
	return jsNatives
}

// jsFetch calls fetch(url, init).
func jsFetch(url string, init js.Value) js.Value {
	n := getNatives()
	return n.apply.Invoke(n.fetch, js.Global(), []any{url, init})
}

// jsThen calls p.then(onOK, onErr); either may be js.Undefined().
func jsThen(p js.Value, onOK, onErr any) {
	n := getNatives()
	n.apply.Invoke(n.then, p, []any{onOK, onErr})
}

// requestInit is the fetch init of a request: a CORS "simple" request
// (POST, text/plain, no custom header), without credentials.
func requestInit(body any, keepalive bool) js.Value {
	init := js.Global().Get("Object").New()
	init.Set("method", "POST")
	init.Set("body", body)
	init.Set("headers", plainHeaders())
	init.Set("credentials", "omit")
	init.Set("mode", "cors")
	if keepalive {
		init.Set("keepalive", true)
	}
	return init
}

// plainHeaders is the one headers object of every request: fetch copies
// what it is given.
var plainHeaders = sync.OnceValue(func() js.Value {
	return js.ValueOf(map[string]any{"Content-Type": "text/plain;charset=UTF-8"})
})

// ignore is a rejection handler that ignores the rejection.
var ignore = sync.OnceValue(func() js.Func {
	return js.FuncOf(func(js.Value, []js.Value) any { return nil })
})

// canGzip reports whether the browser has CompressionStream.
var canGzip = sync.OnceValue(func() bool {
	return js.Global().Get("CompressionStream").Type() == js.TypeFunction
})

// gzip compresses s with the browser's CompressionStream, returning the
// bytes as a JS ArrayBuffer ready for fetch. It fails where the browser
// has no CompressionStream. Writing into the stream directly costs a tenth
// of a Blob's stream(), which goes through the browser's blob store.
func gzip(s string) (js.Value, error) {
	if !canGzip() {
		return js.Value{}, errNoCompression
	}
	cs := js.Global().Get("CompressionStream").New("gzip")
	w := cs.Get("writable").Call("getWriter")
	bytes := js.Global().Get("TextEncoder").New().Call("encode", s)
	jsThen(w.Call("write", bytes), js.Undefined(), ignore())
	jsThen(w.Call("close"), js.Undefined(), ignore())
	return await(js.Global().Get("Response").New(cs.Get("readable")).Call("arrayBuffer"))
}

// localStorage returns window.localStorage, or undefined where it is not
// usable. Reading it throws where storage is blocked, and syscall/js turns
// an exception in a property read into a crash, not a panic: the getter is
// called through Reflect.apply instead, whose exception is a panic.
func localStorage() (ls js.Value) {
	defer func() {
		if recover() != nil {
			ls = js.Undefined()
		}
	}()
	g := js.Global()
	get := js.Undefined()
	for o := g; o.Type() == js.TypeObject || o.Type() == js.TypeFunction; o = js.Global().Get("Object").Call("getPrototypeOf", o) {
		d := js.Global().Get("Object").Call("getOwnPropertyDescriptor", o, "localStorage")
		if d.Type() != js.TypeObject {
			continue
		}
		if v := d.Get("value"); v.Type() == js.TypeObject {
			return v
		}
		get = d.Get("get")
		break
	}
	if get.Type() != js.TypeFunction {
		return js.Undefined()
	}
	v := getNatives().apply.Invoke(get, g, []any{})
	if v.Type() != js.TypeObject {
		return js.Undefined()
	}
	return v
}
