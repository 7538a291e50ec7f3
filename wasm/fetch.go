//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// compressMin is the smallest body worth gzipping: below it the gzip
// header and the work cost more than they save.
const compressMin = 1024

// fetchTransport posts requests with the browser's fetch. net/http would do
// the same through fetch but costs far more wasm.
//
// Every request is a CORS "simple" request: POST, Content-Type text/plain,
// no custom header. So a page on another origin pays no preflight round
// trip. What a header would carry goes in the query instead:
//
//	sentAt=<ms>     the client's clock when sending, for skew correction
//	encoding=gzip   the body is gzip-compressed
type fetchTransport struct {
	url      string // <endpoint>/events
	compress bool

	sender *sender // nil, or not usable yet: send from the page

	mu       sync.Mutex
	inflight int                   // bytes of keepalive bodies not yet answered
	zipping  map[*zipping]struct{} // requests waiting for CompressionStream
}

// zipping is a request whose body is being compressed: not yet sent, so a
// page hidden at that moment must send it itself (see SendCompressing).
type zipping struct {
	body  string
	taken bool       // sent uncompressed by SendCompressing
	done  chan error // its answer, once taken
}

func newFetchTransport(endpoint string, compress bool, senderScript string) *fetchTransport {
	return &fetchTransport{
		url: strings.TrimRight(endpoint, "/") + "/events", compress: compress,
		sender: startSender(senderScript), zipping: map[*zipping]struct{}{},
	}
}

func (f *fetchTransport) requestURL(gzip bool) string {
	u := f.url + "?sentAt=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	if gzip {
		u += "&encoding=gzip"
	}
	return u
}

// Send posts req and waits for the answer.
func (f *fetchTransport) Send(ctx context.Context, req event.Request) error {
	b, err := event.MarshalRequest(req)
	if err != nil {
		return &tracker.SendError{Message: "encoding the request: " + err.Error()}
	}
	if f.sender.usable() {
		p := f.sender.post(f.requestURL(false), b, f.compress && len(b) >= compressMin)
		select {
		case err := <-p.answer:
			if err != errNoWorker {
				return err
			}
			// The Worker could not start or died: send from the page.
		case <-ctx.Done():
			return tracker.NetworkError("aborted: " + ctx.Err().Error())
		}
	}
	var body any = string(b)
	size := len(b)
	gz := false
	if f.compress && len(b) >= compressMin {
		z := &zipping{body: string(b), done: make(chan error, 1)}
		f.mu.Lock()
		f.zipping[z] = struct{}{}
		f.mu.Unlock()
		zipped, err := gzip(string(b))
		f.mu.Lock()
		delete(f.zipping, z)
		taken := z.taken
		f.mu.Unlock()
		if taken {
			return <-z.done // the page was hidden meanwhile and sent it
		}
		if err == nil {
			body, gz, size = zipped, true, zipped.Get("byteLength").Int()
		}
	}
	// With keepalive, a request under way when the visitor navigates away
	// still arrives, as long as the page's keepalive budget allows.
	keepalive := f.reserve(size)
	if keepalive {
		defer f.release(size)
	}
	init := requestInit(body, keepalive)
	if done := ctx.Done(); done != nil {
		ctl := js.Global().Get("AbortController").New()
		init.Set("signal", ctl.Get("signal"))
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
	resp, err := await(jsFetch(f.requestURL(gz), init))
	if err != nil {
		return tracker.NetworkError(err.Error())
	}
	return responseError(resp)
}

// SendKeepalive starts posting req with keepalive, so the request outlives
// the page, and returns without waiting; done hears the answer if the page
// is still there. It refuses (false) when the body would break the budget.
// The body is not compressed: CompressionStream answers asynchronously,
// and a page being closed has no time to wait.
func (f *fetchTransport) SendKeepalive(req event.Request, done func(error)) bool {
	b, err := event.MarshalRequest(req)
	if err != nil {
		return false
	}
	return f.sendKeepalive(string(b), done)
}

func (f *fetchTransport) sendKeepalive(b string, done func(error)) bool {
	if !f.reserve(len(b)) {
		return false
	}

	var onOK, onErr js.Func
	settle := func(err error) {
		f.release(len(b))
		onOK.Release()
		onErr.Release()
		done(err)
	}
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resp := arg(args, 0)
		if resp.Get("ok").Bool() {
			go settle(nil)
		} else {
			// Reading the error body waits on a promise: not here.
			go func() { settle(responseError(resp)) }()
		}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		go settle(tracker.NetworkError(jsErr{arg(args, 0)}.Error()))
		return nil
	})
	jsThen(jsFetch(f.requestURL(false), requestInit(b, true)), onOK, onErr)
	return true
}

// reserve takes n bytes of the keepalive budget, if they are left.
func (f *fetchTransport) reserve(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight+n > tracker.KeepaliveBudget {
		return false
	}
	f.inflight += n
	return true
}

func (f *fetchTransport) release(n int) {
	f.mu.Lock()
	f.inflight -= n
	f.mu.Unlock()
}

// SendCompressing sends, uncompressed and with keepalive, the requests
// still waiting for CompressionStream: compression answers in a later
// task, which a page being left may never run. Their Send calls return the
// answer to these requests instead. So it does with the requests the
// sending Worker has not answered: the Worker ends with the page.
func (f *fetchTransport) SendCompressing() {
	for _, p := range f.sender.takeUnanswered() {
		if !f.sendKeepalive(string(p.body), func(err error) { p.answer <- err }) {
			return
		}
	}
	f.mu.Lock()
	var zs []*zipping
	for z := range f.zipping {
		if !z.taken {
			zs = append(zs, z)
		}
	}
	f.mu.Unlock()
	for _, z := range zs {
		if !f.sendKeepalive(z.body, func(err error) { z.done <- err }) {
			return
		}
		f.mu.Lock()
		z.taken = true
		f.mu.Unlock()
	}
}

// responseError is nil for a 2xx answer and the SendError for others.
// Call it from a goroutine: it waits for the body.
func responseError(resp js.Value) error {
	if resp.Get("ok").Bool() {
		return nil
	}
	status := resp.Get("status").Int()
	// Retry-After is readable cross-origin only when the collector lists
	// it in Access-Control-Expose-Headers.
	retryAfter := tracker.ParseRetryAfter(headerValue(resp, "Retry-After"), time.Now())
	msg := ""
	if text, err := await(resp.Call("text")); err == nil {
		msg = errorMessage(text.String())
	}
	return tracker.StatusError(status, msg, retryAfter)
}

var errNoCompression = jsErr{js.ValueOf("CompressionStream is not available")}

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
