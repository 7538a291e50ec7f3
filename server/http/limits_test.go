package http_test

import (
	"bytes"
	"compress/gzip"
	"runtime"
	"strconv"
	"strings"
	"testing"

	trackhttp "github.com/tracklet/tracklet/server/http"
)

// padded returns a valid body of exactly n bytes (whitespace padding).
func padded(t *testing.T, tid string, n int) string {
	b := body(tid, okEvent)
	if len(b) > n {
		t.Fatalf("body of %d bytes does not fit in %d", len(b), n)
	}
	return b + strings.Repeat(" ", n-len(b))
}

func TestBodyLimitsAtTheEdge(t *testing.T) {
	const limit = 2000
	e := newEnv(t, func(c *trackhttp.Config) {
		c.Limits = trackhttp.Limits{MaxBodyBytes: limit, MaxDecodedBytes: limit}
	})
	tid := e.tracker()
	gz := map[string]string{"Content-Encoding": "gzip"}
	tests := []struct {
		name    string
		body    []byte
		headers map[string]string
		want    int
		message string
	}{
		{"at the limit", []byte(padded(t, tid, limit)), nil, 200, ""},
		{"one byte over", []byte(padded(t, tid, limit+1)), nil, 413, "body: larger than 2000 bytes"},
		{"decompressed at the limit", gzipped(t, []byte(padded(t, tid, limit))), gz, 200, ""},
		{"decompressed one byte over", gzipped(t, []byte(padded(t, tid, limit+1))), gz, 413, "body: larger than 2000 bytes once decompressed"},
	}
	stored := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/events", tt.body, tt.headers)
			if r.status != tt.want || r.message != tt.message {
				t.Fatalf("got %d %q, want %d %q", r.status, r.message, tt.want, tt.message)
			}
			if tt.want == 413 && r.header.Get("x-amzn-ErrorType") != "PayloadTooLargeException" {
				t.Errorf("x-amzn-ErrorType %q", r.header.Get("x-amzn-ErrorType"))
			}
			if tt.want == 200 {
				stored++
			}
			if n := len(e.rows()); n != stored {
				t.Errorf("%d stored, want %d", n, stored)
			}
		})
	}
}

// TestGzipBombIsRefusedEarly sends 256 MiB of zeros gzipped into ~250 KB: the
// collector must stop reading at its 1 MiB limit, not inflate it all.
func TestGzipBombIsRefusedEarly(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte(`{"trackingId":"` + tid + `","sessionId":"s","eventList":[` + okEvent + `],"pad":"`))
	zeros := make([]byte, 1<<20)
	for i := range zeros {
		zeros[i] = 'a'
	}
	for range 256 {
		zw.Write(zeros)
	}
	zw.Write([]byte(`"}`))
	zw.Close()
	if bomb.Len() > trackhttp.DefaultMaxBodyBytes {
		t.Fatalf("the bomb is %d bytes compressed: it would be refused for its size alone", bomb.Len())
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := e.do("POST", "/events", bomb.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	runtime.ReadMemStats(&after)
	if r.status != 413 || !strings.Contains(r.message, "once decompressed") {
		t.Fatalf("got %d %q, want 413", r.status, r.message)
	}
	// The server runs in this process: everything it allocated counts.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("refusing the bomb allocated %d MiB; it should stop at the 1 MiB limit", alloc>>20)
	}
	if len(e.rows()) != 0 {
		t.Error("stored part of a refused request")
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(c *trackhttp.Config) {
		c.RateLimits = trackhttp.RateLimits{PerTracker: 0.001, TrackerBurst: 20, PerIP: 0.001, IPBurst: 8}
	})
	noisy, quiet := e.tracker(), e.tracker()
	// The noisy tracker spends its 20-event burst (two requests of 10)...
	for i := range 2 {
		if r := e.post(body(noisy, repeatEvents(okEvent, 10)...), nil); r.status != 200 {
			t.Fatalf("request %d within the burst: %d %q", i, r.status, r.message)
		}
	}
	// ...and is refused with 429 and a Retry-After in seconds.
	r := e.post(body(noisy, okEvent), nil)
	if r.status != 429 || r.header.Get("x-amzn-ErrorType") != "ThrottlingException" {
		t.Fatalf("over the tracker's budget: %d %s", r.status, r.header.Get("x-amzn-ErrorType"))
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds", r.header.Get("Retry-After"))
	}
	// The quiet tracker still gets through: budgets are per tracker.
	if r := e.post(body(quiet, okEvent), nil); r.status != 200 {
		t.Errorf("quiet tracker starved: %d %q", r.status, r.message)
	}
	// Four requests so far from this IP; its burst is 8.
	for i := range 4 {
		if r := e.post(body(quiet, okEvent), nil); r.status != 200 {
			t.Fatalf("IP request %d within the burst: %d %q", 5+i, r.status, r.message)
		}
	}
	r = e.post(body(quiet, okEvent), nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.message, "address") {
		t.Errorf("over the IP's budget: %d %q Retry-After=%q", r.status, r.message, r.header.Get("Retry-After"))
	}
	if n := len(e.rows()); n != 25 {
		t.Errorf("stored %d events, want 25", n)
	}
}
