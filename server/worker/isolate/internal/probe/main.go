//go:build js && wasm

// Command probe is a Go program for the loader's tests (pool_test.go in
// server/worker): it answers with the instance and invocation that serve
// each request and leaves work behind on purpose — a timer, background
// work, a slow body — so that the tests can check that none of it ever
// acts in another invocation.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/server/worker/isolate"
)

// state is the program's memory, which lives as long as its instance.
var state struct {
	sync.Mutex
	// background counts unfinished background work by the invocation
	// that started it.
	background map[int]int
	served     int
}

// currentInvocation is what the loader says is running now: 0 between
// invocations.
func currentInvocation() int {
	v := js.Global().Get("context").Get("invocation")
	if v.Type() != js.TypeNumber {
		return -1
	}
	return v.Int()
}

func main() {
	state.background = map[int]int{}
	isolate.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv := isolate.FromContext(r.Context())
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		state.Lock()
		state.served++
		// Background work of other invocations still running now would
		// be a leak: the loader gave this instance away too early.
		foreign := 0
		for owner, n := range state.background {
			if owner != inv.ID {
				foreign += n
			}
		}
		served := state.served
		state.Unlock()
		w.Header().Set("Content-Type", "application/json")
		answer := func() {
			json.NewEncoder(w).Encode(map[string]int{"instance": inv.Instance, "invocation": inv.ID,
				"foreign": foreign, "served": served})
		}
		switch r.URL.Path {
		case "/whoami":
			answer()
		case "/timer":
			// A timer that outlives the request: when it fires, whatever
			// invocation is current must not be another one.
			time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
				fmt.Printf(`{"msg":"probe timer fired","owner":%d,"during":%d}`+"\n", inv.ID, currentInvocation())
			})
			answer()
		case "/background":
			state.Lock()
			state.background[inv.ID]++
			state.Unlock()
			inv.WaitUntil(func() {
				time.Sleep(time.Duration(ms) * time.Millisecond)
				state.Lock()
				state.background[inv.ID]--
				state.Unlock()
			})
			answer()
		case "/slowbody":
			// The instance is busy until the whole body has gone out.
			state.Lock()
			state.background[inv.ID]++
			state.Unlock()
			answer()
			w.(http.Flusher).Flush()
			time.Sleep(time.Duration(ms) * time.Millisecond)
			state.Lock()
			state.background[inv.ID]--
			state.Unlock()
			fmt.Fprintln(w, `{"end":true}`)
		case "/exit":
			// A program that dies (a panic, an os.Exit) before it answers
			// takes only its instance, and this request, with it.
			panic("probe: exit requested")
		default:
			http.NotFound(w, r)
		}
	}))
	isolate.Run()
}
