//go:build js && wasm

// Package isolate runs a Go program under Tracklet's Worker loader
// (server/worker/loader/worker.mjs), which keeps the program started and
// gives it invocation after invocation, one at a time, instead of starting
// a Go runtime for each as syumai/workers' own loader does.
//
// syumai/workers assumes one invocation per program; two things of it need
// care when the program lives on:
//
//   - workers.ServeNonBlock's response body closes a package-level channel
//     (workers.Done) when it is read to the end: the second response would
//     panic ("close of closed channel"). Serve gives every response a body
//     of its own that closes only the pipe (see body.go).
//   - Its bindings read env and ctx from globalThis.context when called.
//     The loader points that object at the current invocation, and revokes
//     it between invocations; WaitUntil here uses the ctx of the invocation
//     that started the work, captured at its start, so that work can never
//     attach itself to a later invocation.
package isolate

import (
	"context"
	"net/http"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare/cron"
	"github.com/syumai/workers/cloudflare/queues"
)

// Invocation is one fetch, queue or scheduled event as the loader gives it.
type Invocation struct {
	// ID numbers the isolate's invocations from 1.
	ID int
	// Instance numbers the isolate's Go instances from 1.
	Instance int
	ctx      js.Value
}

// Current returns the invocation the program is serving now. Call it
// synchronously at the start of a handler, before anything blocks.
func Current() *Invocation {
	c := js.Global().Get("context")
	inv := &Invocation{ctx: c.Get("ctx")}
	// Under syumai/workers' own loader (one program per invocation, used
	// by the benchmarks for comparison) the numbers are absent: 0.
	if v := c.Get("invocation"); v.Type() == js.TypeNumber {
		inv.ID = v.Int()
	}
	if v := c.Get("instance"); v.Type() == js.TypeNumber {
		inv.Instance = v.Int()
	}
	return inv
}

type invocationKey struct{}

// FromContext returns the invocation Serve stored in ctx, or nil.
func FromContext(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	return inv
}

// NewContext returns ctx carrying inv.
func NewContext(ctx context.Context, inv *Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

// WaitUntil runs task in the background and keeps inv — and so its
// instance — alive until task returns (the Workers runtime's waitUntil).
// If inv has ended already, task does not run and WaitUntil returns false.
func (inv *Invocation) WaitUntil(task func()) (ok bool) {
	var cb js.Func
	cb = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer cb.Release()
		resolve := args[0]
		go func() {
			defer resolve.Invoke()
			task()
		}()
		return nil
	})
	defer func() {
		if recover() != nil { // the loader refused: the invocation is over
			ok = false
		}
	}()
	inv.ctx.Call("waitUntil", js.Global().Get("Promise").New(cb))
	return true
}

// Serve registers h for the worker's fetch events. Each request's context
// carries its Invocation (FromContext).
func Serve(h http.Handler) {
	workers.ServeNonBlock(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ownBody(w)
		inv := Current()
		h.ServeHTTP(w, r.WithContext(NewContext(r.Context(), inv)))
	}))
}

// Consume registers f for the worker's queue batches.
func Consume(f func(*Invocation, *queues.MessageBatch) error) {
	queues.ConsumeNonBlock(func(b *queues.MessageBatch) error { return f(Current(), b) })
}

// Schedule registers f for the worker's cron triggers. syumai/workers
// panics (ending the program) when a task fails, so f reports failure by
// logging, not by error.
func Schedule(f func(context.Context)) {
	cron.ScheduleTaskNonBlock(func(ctx context.Context) error {
		f(NewContext(ctx, Current()))
		return nil
	})
}

// Run tells the loader the program is ready and keeps it running for the
// invocations to come.
func Run() {
	workers.Ready()
	select {}
}
