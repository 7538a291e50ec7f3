//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// sender gzips and posts request bodies on a dedicated Worker, off the
// page's main thread. For a burst of events, Chromium's fetch and
// CompressionStream cost the page's main thread about as much as building,
// validating and saving the events; on a Worker they run beside it.
//
// The Worker only carries requests: the module decides what to send, when,
// and what an answer means (retries, backoff, 413 splits, storage), so the
// delivery rules stay in one place. The page keeps the unload path: a
// Worker ends with its page, so on pagehide the requests it has not
// answered are sent again from the page with keepalive (see
// fetchTransport.SendCompressing); the collector's eventId dedup makes the
// second copy harmless.
//
// Where no Worker can start (no Worker in this runtime, or a
// Content-Security-Policy that forbids blob: workers), the module sends
// from the page as before.
type sender struct {
	w       js.Value
	blobURL js.Value // the bootstrap's, revoked once the Worker runs

	mu      sync.Mutex
	ready   bool // the Worker said hello: it runs
	broken  bool // it failed to start, or died
	next    int
	waiting map[int]*posted
}

// posted is a request handed to the Worker and not yet answered.
type posted struct {
	body   []byte
	answer chan error // buffered: the Worker's answer and the page's copy's
	resent bool       // the page sent a copy (guarded by sender.mu)
}

// errNoWorker answers the requests of a Worker that failed to start or
// died: Send then sends them from the page.
var errNoWorker = errors.New("the sending Worker failed")

// helloTimeout bounds the wait for a new Worker's first message; one that
// has not started by then is given up.
const helloTimeout = 10 * time.Second

// startSender starts the Worker from script, the URL of
// js/tracklet-sender.js; it returns nil where no Worker can start (no
// Worker in this runtime, no script given, or a Content-Security-Policy
// that forbids it). Requests may be posted at once: the Worker takes them
// when it has started.
func startSender(script string) *sender {
	if script == "" {
		return nil
	}
	s := &sender{waiting: map[int]*posted{}}
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if data := arg(args, 0).Get("data"); data.Type() == js.TypeString {
			s.onMessage(data.String())
		}
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if ev := arg(args, 0); ev.Type() == js.TypeObject && ev.Get("preventDefault").Type() == js.TypeFunction {
			ev.Call("preventDefault") // ours to handle, not the page's console
		}
		s.fail()
		return nil
	})
	w, blobURL, ok := newWorker(script)
	if !ok {
		onMessage.Release()
		onError.Release()
		return nil
	}
	w.Set("onmessage", onMessage)
	w.Set("onerror", onError)
	s.w, s.blobURL = w, blobURL
	time.AfterFunc(helloTimeout, func() {
		s.mu.Lock()
		started := s.ready
		s.mu.Unlock()
		if !started {
			s.fail()
		}
	})
	return s
}

// newWorker starts a Worker running script. A Worker's script must be
// same-origin with the page, and the collector that serves it usually is
// not: then the Worker starts from a blob: URL whose one line imports the
// script, which a Content-Security-Policy allows with worker-src blob:
// (its importScripts answers to the page's script-src, which names the
// collector). A policy that forbids it makes the constructor throw, or
// the Worker fail at once (onerror): the module then sends from the page.
func newWorker(script string) (w, blobURL js.Value, ok bool) {
	defer func() {
		if recover() != nil {
			w, blobURL, ok = js.Value{}, js.Undefined(), false
		}
	}()
	g := js.Global()
	if g.Get("Worker").Type() != js.TypeFunction {
		return js.Value{}, js.Undefined(), false
	}
	u := g.Get("URL").New(script, g.Get("location").Get("href"))
	opts := map[string]any{"name": "tracklet"}
	if u.Get("origin").String() == g.Get("location").Get("origin").String() {
		return g.Get("Worker").New(u.Get("href"), opts), js.Undefined(), true
	}
	if g.Get("Blob").Type() != js.TypeFunction || g.Get("URL").Get("createObjectURL").Type() != js.TypeFunction {
		return js.Value{}, js.Undefined(), false
	}
	src := "importScripts(" + string(event.AppendJSONString(nil, u.Get("href").String())) + ");"
	blob := g.Get("Blob").New([]any{src}, map[string]any{"type": "text/javascript"})
	blobURL = g.Get("URL").Call("createObjectURL", blob)
	return g.Get("Worker").New(blobURL, opts), blobURL, true
}

// usable reports whether requests can go through the Worker.
func (s *sender) usable() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.broken
}

// post hands a body to the Worker, to be sent to url, and returns the
// request; its answer channel hears how it went.
func (s *sender) post(url string, body []byte, gzip bool) *posted {
	p := &posted{body: body, answer: make(chan error, 2)}
	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		p.answer <- errNoWorker
		return p
	}
	s.next++
	id := s.next
	s.waiting[id] = p
	s.mu.Unlock()

	// The body crosses as a string: one call and no JS objects for Go to
	// track (each js.Value of an object costs a finalizer); the Worker
	// encodes it to bytes off the main thread.
	s.w.Call("postMessage", js.ValueOf(map[string]any{"id": id, "url": url, "body": string(body), "gzip": gzip}))
	return p
}

func (s *sender) onMessage(data string) {
	// The Worker's messages (js/tracklet-sender.js): "hello" once it
	// runs, "ok <id> <id>..." for the successes of one turn, and "failed
	// " + JSON [id, status, error, retryAfter, text] for each failure.
	switch {
	case data == "hello":
		s.mu.Lock()
		s.ready = true
		s.mu.Unlock()
		// The Worker has its script once it runs.
		if s.blobURL.Type() == js.TypeString {
			js.Global().Get("URL").Call("revokeObjectURL", s.blobURL)
		}
	case strings.HasPrefix(data, "ok "):
		for _, f := range strings.Fields(data[3:]) {
			if id, err := strconv.Atoi(f); err == nil {
				if p := s.take(id); p != nil {
					p.answer <- nil
				}
			}
		}
	case strings.HasPrefix(data, "failed "):
		var f []any
		if json.Unmarshal([]byte(data[7:]), &f) != nil || len(f) != 5 {
			return
		}
		id, _ := f[0].(float64)
		status, _ := f[1].(float64)
		msg, _ := f[2].(string)
		retryAfter, _ := f[3].(string)
		text, _ := f[4].(string)
		p := s.take(int(id))
		if p == nil {
			return
		}
		if status == 0 {
			p.answer <- tracker.NetworkError(msg)
			return
		}
		p.answer <- tracker.StatusError(int(status), errorMessage(text), tracker.ParseRetryAfter(retryAfter, time.Now()))
	}
}

// take removes and returns the request id is waiting for, if any.
func (s *sender) take(id int) *posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.waiting[id]
	delete(s.waiting, id)
	return p
}

// fail gives up on the Worker: its unanswered requests are answered with
// errNoWorker, for Send to send them from the page, and nothing more goes
// to it.
func (s *sender) fail() {
	s.mu.Lock()
	s.broken = true
	waiting := s.waiting
	s.waiting = map[int]*posted{}
	s.mu.Unlock()
	for _, p := range waiting {
		p.answer <- errNoWorker
	}
	s.w.Call("terminate")
}

// takeUnanswered returns the requests the Worker has not answered yet and
// the page has not sent a copy of, oldest first, and marks them as copied.
func (s *sender) takeUnanswered() []*posted {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.waiting))
	for id, p := range s.waiting {
		if !p.resent {
			p.resent = true
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]*posted, len(ids))
	for i, id := range ids {
		out[i] = s.waiting[id]
	}
	return out
}
