//go:build js && wasm

package main

import (
	"errors"
	"slices"
	"sync"
	"syscall/js"
	"time"

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
	w js.Value

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

// senderJS is the Worker's whole program. A message is {id, url, body
// (a string, encoded to UTF-8 here), gzip}: gzip asks for compression, which the
// Worker then notes in the url, where it has CompressionStream. The answer
// is {id, status, retryAfter, text}, or {id, status: 0, error} for a
// network error, sent in a list: {answers: [...]}.
const senderJS = `"use strict";
var canGzip = typeof CompressionStream === "function";
onmessage = function (e) {
  var m = e.data;
  var gzip = m.gzip && canGzip;
  var body = gzip ? compress(new TextEncoder().encode(m.body)) : Promise.resolve(m.body);
  body.then(function (b) {
    return fetch(gzip ? m.url + "&encoding=gzip" : m.url, {method: "POST", body: b, headers: {"Content-Type": "text/plain;charset=UTF-8"}, credentials: "omit", mode: "cors"});
  }).then(function (resp) {
    if (resp.ok) return answer({id: m.id, status: resp.status});
    return resp.text().catch(function () { return ""; }).then(function (text) {
      answer({id: m.id, status: resp.status, retryAfter: resp.headers.get("Retry-After") || "", text: text});
    });
  }).catch(function (err) {
    answer({id: m.id, status: 0, error: String(err && err.message || err)});
  });
};
// answer sends the answers that come in within one turn of the event
// loop as one message: each message costs the page's main thread a task
// and a call into Go, and during a burst the collector answers several
// requests at once.
var answers = [];
function answer(a) {
  answers.push(a);
  if (answers.length > 1) return;
  setTimeout(function () {
    var all = answers;
    answers = [];
    postMessage({answers: all});
  }, 0);
}
// compress gzips bytes. Writing them into the stream directly costs a
// tenth of a Blob's stream(), which goes through the browser's blob store.
function compress(bytes) {
  var cs = new CompressionStream("gzip");
  var w = cs.writable.getWriter();
  w.write(bytes).catch(function () {});
  w.close().catch(function () {});
  return new Response(cs.readable).arrayBuffer();
}
postMessage({hello: true});
`

// errNoWorker answers the requests of a Worker that failed to start or
// died: Send then sends them from the page.
var errNoWorker = errors.New("the sending Worker failed")

// helloTimeout bounds the wait for a new Worker's first message; one that
// has not started by then is given up.
const helloTimeout = 10 * time.Second

// startSender starts the Worker; it returns nil where Workers are not
// available. Requests may be posted at once: the Worker takes them when it
// has started.
func startSender() *sender {
	s := &sender{waiting: map[int]*posted{}}
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		s.onMessage(args)
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if ev := arg(args, 0); ev.Type() == js.TypeObject && ev.Get("preventDefault").Type() == js.TypeFunction {
			ev.Call("preventDefault") // ours to handle, not the page's console
		}
		s.fail()
		return nil
	})
	w := helpers().Call("startWorker", senderJS, onMessage, onError)
	if w.Type() != js.TypeObject {
		onMessage.Release()
		onError.Release()
		return nil
	}
	s.w = w
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
	helpers().Call("post", s.w, id, url, string(body), gzip)
	return p
}

func (s *sender) onMessage(args []js.Value) {
	// helpers' startWorker hands over (0) for the Worker's hello, (-1,
	// id...) for successes and (id, status, error, retryAfter, text)
	// for anything else.
	id := arg(args, 0)
	if id.Type() != js.TypeNumber {
		return
	}
	switch id.Int() {
	case 0:
		s.mu.Lock()
		s.ready = true
		s.mu.Unlock()
		return
	case -1:
		for _, id := range args[1:] {
			s.mu.Lock()
			p := s.waiting[id.Int()]
			delete(s.waiting, id.Int())
			s.mu.Unlock()
			if p != nil {
				p.answer <- nil
			}
		}
		return
	}
	s.mu.Lock()
	p := s.waiting[id.Int()]
	delete(s.waiting, id.Int())
	s.mu.Unlock()
	if p == nil {
		return
	}
	var err error
	switch status := arg(args, 1).Int(); {
	case status == 0:
		err = tracker.NetworkError(arg(args, 2).String())
	case status < 200 || status > 299:
		retryAfter := tracker.ParseRetryAfter(arg(args, 3).String(), time.Now())
		err = tracker.StatusError(status, errorMessage(arg(args, 4).String()), retryAfter)
	}
	p.answer <- err
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
