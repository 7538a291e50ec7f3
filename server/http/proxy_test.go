package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	trackhttp "github.com/tracklet/tracklet/server/http"
)

// syncBuffer is a log destination the server writes and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Behind a proxy that appends the real address to X-Forwarded-For (the
// test client, on loopback, plays the proxy), a client writing a new
// left-most address into every request still spends one budget, and the
// access log shows the address the proxy saw.
func TestSpoofedForwardedForCannotBypassIPLimit(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(c *trackhttp.Config) {
		c.RateLimits = trackhttp.RateLimits{PerIP: 0.001, IPBurst: 5}
		c.Proxies = trackhttp.Proxies{Trust: true}
		c.AccessLog, c.Logger = true, slog.New(slog.NewJSONHandler(&logs, nil))
	})
	tid := e.tracker()
	const real = "198.51.100.7"
	for i := range 5 {
		xff := fmt.Sprintf("203.0.113.%d, %s", i, real)
		if r := e.post(body(tid, okEvent), map[string]string{"X-Forwarded-For": xff}); r.status != 200 {
			t.Fatalf("request %d within the burst: %d %q", i, r.status, r.message)
		}
	}
	for i := 5; i < 10; i++ {
		xff := fmt.Sprintf("203.0.113.%d, %s", i, real)
		if r := e.post(body(tid, okEvent), map[string]string{"X-Forwarded-For": xff}); r.status != 429 {
			t.Errorf("request %d past the burst with a new left-most address: %d, want 429", i, r.status)
		}
	}
	// Another client behind the same proxy has its own budget.
	if r := e.post(body(tid, okEvent), map[string]string{"X-Forwarded-For": "198.51.100.8"}); r.status != 200 {
		t.Errorf("another client behind the proxy: %d %q", r.status, r.message)
	}
	var ips []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Msg, IP string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg == "request" {
			ips = append(ips, rec.IP)
		}
	}
	if len(ips) != 11 || strings.Count(strings.Join(ips, " "), real) != 10 || ips[10] != "198.51.100.8" {
		t.Errorf("access log ips %v, want %s ten times, then 198.51.100.8", ips, real)
	}
}

// Behind a proxy the collector does not trust, it says so, once: every
// visitor would share the proxy's address and per-address limits.
func TestUntrustedProxyIsReportedOnce(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(c *trackhttp.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	tid := e.tracker()
	e.post(body(tid, okEvent), nil)
	if strings.Contains(logs.String(), "--trust-proxy") {
		t.Fatalf("warned without X-Forwarded-For: %s", logs.String())
	}
	for range 3 {
		if r := e.post(body(tid, okEvent), map[string]string{"X-Forwarded-For": "192.0.2.9"}); r.status != 200 {
			t.Fatalf("%d %q", r.status, r.message)
		}
	}
	if n := strings.Count(logs.String(), "--trust-proxy is off"); n != 1 {
		t.Errorf("%d warnings about the untrusted proxy, want 1:\n%s", n, logs.String())
	}
}
