//go:build js && wasm

// Command wasm is Tracklet's browser module. It binds package tracker to
// JavaScript: it installs globalThis.__trackletWasm, a factory the loader
// and the ES module (js/src, bundled into tracklet.js and tracklet.mjs)
// call to create trackers, then waits for calls. Nothing here blocks the JavaScript event loop: work that waits for
// the network runs on a goroutine behind a Promise.
package main

import (
	"runtime/debug"
	"syscall/js"

	"github.com/google/uuid"
)

func main() {
	// main returns to JavaScript at the select below, so the factory is
	// there as soon as go.run(instance) returns.
	debug.SetGCPercent(gcPercent)
	// Every event gets a UUIDv7; from a pool, its random bits cost one
	// crypto.getRandomValues call per 16 events instead of one each.
	uuid.EnableRandPool()
	install(js.Global())
	select {} // serve calls from JavaScript until the page goes away
}

// install puts the factory on global as __trackletWasm:
//
//	__trackletWasm.create({trackingId, endpoint, sessionId?, userId?,
//	    batchSize?, flushInterval? (ms), maxQueue?}) → api object, or an Error
func install(global js.Value) {
	global.Set("__trackletWasm", js.ValueOf(map[string]any{
		"create": js.FuncOf(func(_ js.Value, args []js.Value) any {
			api, err := newAPI(arg(args, 0))
			if err != nil {
				return jsError(err)
			}
			return api
		}),
	}))
}

// arg returns args[i], or undefined when the caller passed fewer.
func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// gcPercent is GOGC for the browser module. A burst of events allocates a
// few MB of short-lived garbage; with the default of 100 the small heap is
// collected dozens of times during one burst.
const gcPercent = 400
