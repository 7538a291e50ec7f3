//go:build !js

package worker_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// The benchmarks measure the worker under wrangler dev on this machine:
// workerd, D1 and the Queue are Cloudflare's local simulators, so the
// figures say how the pieces compare, not what Cloudflare's network does.

// benchWorker starts a worker with one tracker that accepts any origin.
func benchWorker(b testing.TB) (*devWorker, string) {
	b.Helper()
	w := startWorker(b, nil)
	const tid = "tk_benchmark"
	w.query(context.Background(), "INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('"+tid+"', 'bench', '[]', 0, 0)")
	return w, tid
}

// tenEvents is a request of ten events with eventIds prefix-0..9.
func tenEvents(tid, prefix string) string {
	evs := make([]string, 10)
	for i := range evs {
		evs[i] = ev(fmt.Sprintf("%s-%d", prefix, i), "View")
	}
	return body(tid, evs...)
}

// BenchmarkColdRequest times the first request a freshly started worker
// answers (workerd compiles the wasm module, then runs it) and reports it
// as first-request-ms. Each iteration starts wrangler, so the default
// benchtime runs one; -benchtime 5x averages five.
func BenchmarkColdRequest(b *testing.B) {
	if testing.Short() {
		b.Skip("starts wrangler dev")
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		w, tid := benchWorker(b)
		req := tenEvents(tid, fmt.Sprint("cold", i))
		t0 := time.Now()
		if resp, got := do(b, "POST", w.URL+"/events", nil, req); resp.StatusCode != 200 {
			b.Fatalf("POST /events = %d %s", resp.StatusCode, got)
		}
		total += time.Since(t0)
		w.stop()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "first-request-ms")
}

// BenchmarkWarmRequest times requests, one after another, to a worker that
// has answered before. syumai/workers still starts a new Go runtime for
// each request; the module is compiled once.
func BenchmarkWarmRequest(b *testing.B) {
	if testing.Short() {
		b.Skip("starts wrangler dev")
	}
	w, tid := benchWorker(b)
	do(b, "POST", w.URL+"/events", nil, tenEvents(tid, "warmup"))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if resp, got := do(b, "POST", w.URL+"/events", nil, tenEvents(tid, fmt.Sprint("warm", i))); resp.StatusCode != 200 {
			b.Fatalf("POST /events = %d %s", resp.StatusCode, got)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkQueueToD1 sends requests of ten events from 8 clients and
// counts until the consumer has stored all of them in D1: the ingest
// throughput of accept → Queue → consumer → D1.
func BenchmarkQueueToD1(b *testing.B) {
	if testing.Short() {
		b.Skip("starts wrangler dev")
	}
	const (
		clients  = 8
		requests = 200 // per iteration: 2,000 events
	)
	w, tid := benchWorker(b)
	stored := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range work {
					if resp, got := do(b, "POST", w.URL+"/events", nil, tenEvents(tid, fmt.Sprintf("q%d-%d", i, r))); resp.StatusCode != 200 {
						b.Errorf("POST /events = %d %s", resp.StatusCode, got)
					}
				}
			}()
		}
		for r := range requests {
			work <- r
		}
		close(work)
		wg.Wait()
		accepted := time.Since(t0)
		stored += requests
		if a, _ := w.consumed(b, stored, 60*time.Second); a != stored*10 {
			b.Fatalf("consumer stored %d events, want %d", a, stored*10)
		}
		elapsed := time.Since(t0)
		b.ReportMetric(float64(requests*10)/accepted.Seconds(), "accepted-events/s")
		b.ReportMetric(float64(requests*10)/elapsed.Seconds(), "stored-events/s")
	}
}
