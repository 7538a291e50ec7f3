//go:build !js

package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmarks measure the worker under wrangler dev on this machine:
// workerd, D1 and the Queue are Cloudflare's local simulators, so the
// figures say how the pieces compare, not what Cloudflare's network does.

// benchWorker starts a worker with one tracker that accepts any origin.
func benchWorker(b testing.TB, script ...string) (*devWorker, string) {
	b.Helper()
	w := startWorker(b, nil, script...)
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
		post(b, w.URL+"/events", req)
		total += time.Since(t0)
		w.stop()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "first-request-ms")
}

// loaders are the two JS loaders the benchmarks compare in one run:
// syumai/workers' own (a Go runtime started per invocation) and ours (a
// pool of started runtimes, loader/worker.mjs).
var loaders = []struct{ name, script string }{
	{"library", "build/worker-library.mjs"},
	{"pool", "build/worker.mjs"},
}

// workerdCPU returns the CPU time the worker's workerd processes have used
// so far (Linux /proc): what Cloudflare's CPU limit counts, give or take
// wrangler's own proxying, which runs in node.
func (w *devWorker) workerdCPU(b testing.TB) time.Duration {
	b.Helper()
	pgid := w.cmd.Process.Pid
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range dirs {
		st, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ... utime(14) stime(15)
		end := strings.LastIndexByte(string(st), ')')
		if end < 0 || !strings.Contains(string(st[:end]), "(workerd") {
			continue
		}
		fields := strings.Fields(string(st[end+2:]))
		if len(fields) < 13 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		s, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + s
	}
	if ticks == 0 {
		b.Fatal("no workerd process found in wrangler's process group")
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// post sends one request, retrying on the pool's 503 (as the tracker
// does), and returns how many 503s it took.
func post(b testing.TB, url, body string) (busy int) {
	for {
		resp, got := do(b, "POST", url, nil, body)
		switch resp.StatusCode {
		case 200:
			return busy
		case 503:
			busy++
		default: // called from clients' goroutines: no Fatal
			b.Errorf("POST /events = %d %s", resp.StatusCode, got)
			return busy
		}
	}
}

// BenchmarkWarmRequest times requests, one after another, to a worker that
// has answered before, under each loader, and reports p50/p99 and the
// CPU time workerd spent per request.
func BenchmarkWarmRequest(b *testing.B) {
	if testing.Short() {
		b.Skip("starts wrangler dev")
	}
	for _, l := range loaders {
		b.Run("loader="+l.name, func(b *testing.B) {
			w, tid := benchWorker(b, l.script)
			post(b, w.URL+"/events", tenEvents(tid, "warmup"))
			lat := make([]time.Duration, 0, b.N)
			cpu := w.workerdCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				post(b, w.URL+"/events", tenEvents(tid, fmt.Sprint("warm", i)))
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			cpu = w.workerdCPU(b) - cpu
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/req")
		})
	}
}

// BenchmarkQueueToD1 sends requests of ten events from 8 clients and
// counts until the consumer has stored all of them in D1: the ingest
// throughput of accept → Queue → consumer → D1, under each loader.
func BenchmarkQueueToD1(b *testing.B) {
	if testing.Short() {
		b.Skip("starts wrangler dev")
	}
	const (
		clients  = 8
		requests = 200 // per iteration: 2,000 events
	)
	for _, l := range loaders {
		b.Run("loader="+l.name, func(b *testing.B) {
			w, tid := benchWorker(b, l.script)
			stored, busy, late := 0, 0, 0
			var mu sync.Mutex
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
							n := post(b, w.URL+"/events", tenEvents(tid, fmt.Sprintf("q%d-%d", i, r)))
							mu.Lock()
							busy += n
							mu.Unlock()
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
				// Not w.consumed, which fails the benchmark: a loader whose
				// consumer falls behind still gets its figures, and the
				// messages not stored within two minutes are reported.
				msgs := 0
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					if msgs = consumedMessages(w); msgs >= stored {
						break
					}
				}
				elapsed := time.Since(t0)
				late += stored - min(msgs, stored)
				b.ReportMetric(float64(requests*10)/accepted.Seconds(), "accepted-events/s")
				b.ReportMetric(float64(requests*10-10*(stored-min(msgs, stored)))/elapsed.Seconds(), "stored-events/s")
			}
			b.ReportMetric(float64(busy)/float64(b.N*requests), "503s/req")
			b.ReportMetric(float64(late), "unstored-after-2min-msgs")
		})
	}
}

// consumedMessages counts the messages the consumer has logged as stored.
func consumedMessages(w *devWorker) int {
	n := 0
	for _, m := range consumerLine.FindAllStringSubmatch(w.Output(), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}
