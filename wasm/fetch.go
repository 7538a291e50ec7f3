//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"strings"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// fetchTransport posts requests with the browser's fetch. net/http would do
// the same through fetch but costs far more wasm.
type fetchTransport struct {
	url string // <endpoint>/events
}

func newFetchTransport(endpoint string) *fetchTransport {
	return &fetchTransport{url: strings.TrimRight(endpoint, "/") + "/events"}
}

// Send posts req as JSON. The content type is text/plain, a "simple"
// request, so a cross-origin page needs no CORS preflight round trip.
func (f *fetchTransport) Send(ctx context.Context, req event.Request) error {
	body, err := json.Marshal(req)
	if err != nil {
		return &tracker.SendError{Message: "encoding the request: " + err.Error()}
	}
	init := map[string]any{
		"method":      "POST",
		"body":        string(body),
		"headers":     map[string]any{"Content-Type": "text/plain;charset=UTF-8"},
		"credentials": "omit",
		"mode":        "cors",
	}
	if done := ctx.Done(); done != nil {
		ctl := js.Global().Get("AbortController").New()
		init["signal"] = ctl.Get("signal")
		finished := make(chan struct{})
		defer close(finished)
		go func() {
			select {
			case <-done:
				ctl.Call("abort")
			case <-finished:
			}
		}()
	}
	resp, err := await(js.Global().Call("fetch", f.url, init))
	if err != nil {
		return tracker.NetworkError(err.Error())
	}
	status := resp.Get("status").Int()
	if resp.Get("ok").Bool() {
		return nil
	}
	// Retry-After is readable cross-origin only when the collector lists
	// it in Access-Control-Expose-Headers.
	retryAfter := tracker.ParseRetryAfter(headerValue(resp, "Retry-After"), time.Now())
	text, err := await(resp.Call("text"))
	msg := ""
	if err == nil {
		msg = errorMessage(text.String())
	}
	return tracker.StatusError(status, msg, retryAfter)
}

func headerValue(resp js.Value, name string) string {
	v := resp.Get("headers").Call("get", name)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// errorMessage returns the collector's {"message": "..."}, or the start of
// a body that is not one.
func errorMessage(body string) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Message != "" {
		return e.Message
	}
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return body
}
