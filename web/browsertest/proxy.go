package browsertest

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a reverse proxy in front of a real collector, for tests of what
// the network does to the tracker: it can answer POST /events itself with
// an error instead of forwarding (Fail), and it counts the requests and the
// bytes that cross it, headers included, as they are on the wire.
//
// The collector stays real; only the failures are made up.
type Proxy struct {
	URL string // e.g. http://127.0.0.1:40123; use it as the page's data-endpoint

	rp *httputil.ReverseProxy

	mu       sync.Mutex
	fault    func(r *http.Request) int
	assets   func(r *http.Request) int // fault for GETs (FailAssets)
	held     chan struct{}             // closed to release held GETs of tracklet.wasm
	bodies   []string                  // of POST /events, decompressed
	delay    time.Duration             // before forwarding POST /events
	requests map[string]int            // by "METHOD /path"
	faults   int

	in, out atomic.Int64 // bytes read from and written to the browser
}

// NewProxy starts a proxy to the collector at target (its URL), stopped
// when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, srv := newProxy(t, target)
	srv.Start()
	p.URL = srv.URL
	return p
}

// NewTLSProxy is NewProxy on https with leaf's certificate, offering
// HTTP/2 or only HTTP/1.1, for measuring what each costs on the browser's
// side: the bytes it counts are the encrypted ones, handshakes included.
// It forwards to target as NewProxy does.
func NewTLSProxy(t testing.TB, target string, leaf *Leaf, http2 bool) *Proxy {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	p, srv := newProxy(t, target)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableHTTP2 = http2
	srv.StartTLS()
	p.URL = srv.URL
	return p
}

func newProxy(t testing.TB, target string) (*Proxy, *httptest.Server) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{rp: httputil.NewSingleHostReverseProxy(u), requests: map[string]int{}}
	// A collector that is down looks like one to the browser: the
	// connection fails, so the browser sees a network error.
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Listener = &countingListener{Listener: srv.Listener, in: &p.in, out: &p.out}
	t.Cleanup(srv.Close)
	return p, srv
}

// Fail makes the proxy answer POST /events itself with the status fault
// returns for the request, instead of forwarding it; 0 forwards. The
// answer carries the CORS headers a collector sends, so the page can read
// it. Fail(nil) forwards everything again.
func (p *Proxy) Fail(fault func(r *http.Request) int) {
	p.mu.Lock()
	p.fault = fault
	p.mu.Unlock()
}

// Delay makes the proxy hold each POST /events for d before forwarding
// it; a request whose client goes away meanwhile is never forwarded, as a
// request the browser aborted never reaches a collector. 0 forwards at once.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// FailAssets makes the proxy answer GET requests itself with the status
// fault returns, instead of forwarding them; 0 forwards. FailAssets(nil)
// forwards everything again.
func (p *Proxy) FailAssets(fault func(r *http.Request) int) {
	p.mu.Lock()
	p.assets = fault
	p.mu.Unlock()
}

// HoldModule holds every GET of the module (a path ending in .wasm) until
// the returned function is called, as a slow network would: the page runs
// with the loader only. The release function may be called more than once.
func (p *Proxy) HoldModule() (release func()) {
	ch := make(chan struct{})
	p.mu.Lock()
	p.held = ch
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			if p.held == ch {
				p.held = nil
			}
			p.mu.Unlock()
			close(ch)
		})
	}
}

// Bodies returns the bodies of the POST /events requests the proxy saw
// (gunzipped where the query says encoding=gzip), in arrival order.
func (p *Proxy) Bodies() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// Requests returns how many requests the proxy saw by "METHOD /path" (the
// query left out), and how many of them it answered with a fault.
func (p *Proxy) Requests() (byRoute map[string]int, faults int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	byRoute = make(map[string]int, len(p.requests))
	for k, v := range p.requests {
		byRoute[k] = v
	}
	return byRoute, p.faults
}

// Bytes returns the bytes received from browsers (requests) and sent to
// them (responses) so far, counted on the connections: request lines,
// headers and bodies as they crossed the wire.
func (p *Proxy) Bytes() (in, out int64) { return p.in.Load(), p.out.Load() }

// Reset zeroes the counters.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.requests = map[string]int{}
	p.faults = 0
	p.bodies = nil
	p.mu.Unlock()
	p.in.Store(0)
	p.out.Store(0)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests[r.Method+" "+r.URL.Path]++
	status := 0
	isEvents := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events")
	if p.fault != nil && isEvents {
		status = p.fault(r)
	}
	if p.assets != nil && r.Method == http.MethodGet {
		status = p.assets(r)
	}
	if status != 0 {
		p.faults++
	}
	delay, held := p.delay, p.held
	p.mu.Unlock()
	if isEvents {
		p.recordBody(r)
	}
	if held != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".wasm") {
		select {
		case <-held:
		case <-r.Context().Done():
			return // the page went away
		}
	}
	if status == 0 {
		if delay > 0 && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return // the browser gave up on it
			}
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	h := w.Header()
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Expose-Headers", "Retry-After")
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"message":"injected by the test proxy"}`)
}

// recordBody keeps a copy of r's body, and puts the body back for the
// collector.
func (p *Proxy) recordBody(r *http.Request) {
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return
	}
	text := b
	if r.URL.Query().Get("encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if u, err := io.ReadAll(zr); err == nil {
				text = u
			}
		}
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(text))
	p.mu.Unlock()
}

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	in, out *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(int64(n))
	return n, err
}
