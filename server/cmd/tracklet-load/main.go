// Command tracklet-load is the collector's load generator: it posts
// PutEvents batches from many concurrent clients over loopback, first to a
// real collector (SQLite file, durable group commit) and then to a no-op
// handler that only reads the body, each in a child process of its own, and
// reports events/s, latency percentiles, the child's peak RSS and the ratio
// between the two.
//
//	go run ./server/cmd/tracklet-load [-duration 5s] [-clients 64] [-batch 10] [-ids v7|v4]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlite"
)

func main() {
	child := flag.String("child", "", "internal: run as the target (collector or noop)")
	duration := flag.Duration("duration", 5*time.Second, "how long to load each target")
	clients := flag.Int("clients", 64, "concurrent clients")
	batch := flag.Int("batch", 10, "events per request (1-10)")
	ids := flag.String("ids", "v7", "eventIds: v7 (time-ordered UUIDs, as the browser module sends) or v4 (random UUIDs)")
	flag.Parse()
	if *child != "" {
		if err := runChild(*child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	uuid.EnableRandPool() // one read of the random source per many eventIds
	var newID func() uuid.UUID
	switch *ids {
	case "v7":
		newID = func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	case "v4":
		newID = uuid.New
	default:
		fmt.Fprintf(os.Stderr, "tracklet-load: -ids %q: want v7 or v4\n", *ids)
		os.Exit(2)
	}
	var results []result
	for _, target := range []string{"collector", "noop"} {
		r, err := load(target, *duration, *clients, *batch, newID)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tracklet-load:", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	fmt.Printf("%-10s %12s %10s %10s %10s %8s %10s %10s\n", "target", "events/s", "p50", "p99", "peak RSS", "errors", "target CPU", "load CPU")
	for _, r := range results {
		fmt.Printf("%-10s %12.0f %10s %10s %8d MB %8d %10.2f %10.2f\n", r.target, r.eventsPerSec, r.p50, r.p99, r.rssKB/1024, r.errors,
			r.targetCPU, r.loadCPU)
	}
	fmt.Printf("collector / no-op throughput: %.2f\n", results[0].eventsPerSec/results[1].eventsPerSec)
}

type result struct {
	target        string
	eventsPerSec  float64
	p50, p99      time.Duration
	rssKB, errors int64
	// CPU used by the target process and by the load generator itself,
	// in cores (CPU seconds per second): on a small machine the two share
	// the cores, so this says how much was left for the target.
	targetCPU, loadCPU float64
}

// load starts the target in a child process and runs the clients against it.
func load(target string, d time.Duration, clients, batch int, newID func() uuid.UUID) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-child", target)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var url, tid string
	if _, err := fmt.Fscan(bufio.NewReader(stdout), &url, &tid); err != nil {
		return result{}, fmt.Errorf("%s did not start: %w", target, err)
	}

	host := strings.TrimPrefix(url, "http://")
	var (
		events, errs atomic.Int64
		mu           sync.Mutex
		latencies    []time.Duration
		wg           sync.WaitGroup
	)
	end := time.Now().Add(d)
	start := time.Now()
	targetCPU0, loadCPU0 := cpuSeconds(cmd.Process.Pid), selfCPUSeconds()
	for c := range clients {
		wg.Go(func() {
			own := make([]time.Duration, 0, 1<<16)
			// Bodies are built with appends, not fmt: on two shared
			// cores every microsecond the generator spends is one the
			// target does not get.
			var body []byte
			client := &conn{addr: host, host: host, timeout: 10 * time.Second}
			defer client.close()
			for time.Now().Before(end) {
				body = appendBody(body[:0], tid, c, batch, time.Now(), newID)
				t0 := time.Now()
				status, err := client.post("/events", body)
				if err != nil {
					errs.Add(1)
					continue
				}
				own = append(own, time.Since(t0))
				if status != 200 {
					errs.Add(1)
					continue
				}
				events.Add(int64(batch))
			}
			mu.Lock()
			latencies = append(latencies, own...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))].Round(10 * time.Microsecond)
	}
	return result{target: target, eventsPerSec: float64(events.Load()) / elapsed.Seconds(),
		p50: pct(0.50), p99: pct(0.99), rssKB: peakRSS(cmd.Process.Pid), errors: errs.Load(),
		targetCPU: (cpuSeconds(cmd.Process.Pid) - targetCPU0) / elapsed.Seconds(),
		loadCPU:   (selfCPUSeconds() - loadCPU0) / elapsed.Seconds()}, nil
}

// appendBody appends a PutEvents request of client c with n events, sent
// at now, to b, with eventIds from newID.
func appendBody(b []byte, tid string, c, n int, now time.Time, newID func() uuid.UUID) []byte {
	b = append(b, `{"trackingId":`...)
	b = strconv.AppendQuote(b, tid)
	b = append(b, `,"sessionId":"c`...)
	b = strconv.AppendInt(b, int64(c), 10)
	b = append(b, `","userId":"u`...)
	b = strconv.AppendInt(b, int64(c), 10)
	b = append(b, `","eventList":[`...)
	sentAt := float64(now.UnixMilli()) / 1000
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"eventId":"`...)
		b = append(b, newID().String()...)
		b = append(b, `","eventType":"MovieRating","itemId":"movie`...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `","eventValue":4.5,"sentAt":`...)
		b = strconv.AppendFloat(b, sentAt, 'f', 3, 64)
		b = append(b, `,"properties":"{\"numberOfRatings\":\"12\"}"}`...)
	}
	return append(b, "]}"...)
}

// cpuSeconds reads the user+system CPU time a process has used from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields resume after ')'.
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	var utime, stime float64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100
}

func selfCPUSeconds() float64 { return cpuSeconds(os.Getpid()) }

// peakRSS reads a process's peak resident set (VmHWM) in kB from /proc.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	return -1
}

// runChild serves the target on a free loopback port, prints its URL and a
// trackingId, and runs until its stdin closes.
func runChild(target string) error {
	ctx := context.Background()
	var h http.Handler
	tid := "tk_noop"
	switch target {
	case "noop":
		// As little as a server can do: read the body, answer {}.
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		})
	case "collector":
		// As `tracklet serve` does (server/cmd/tracklet/gc.go).
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(64 << 20)
		}
		dir, err := os.MkdirTemp("", "tracklet-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		commits := new(commitStats)
		db, err := sqlite.Open(ctx, filepath.Join(dir, "load.db"), sqlite.Options{Observer: commits})
		if err != nil {
			return err
		}
		defer db.Close()
		defer commits.report(os.Stderr)
		tr, err := db.CreateTracker(ctx, "load", nil)
		if err != nil {
			return err
		}
		tid = tr.ID
		h = trackhttp.NewHandler(trackhttp.Config{Store: db, Rejected: db,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	default:
		return fmt.Errorf("unknown target %q", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	// TRACKLET_LOAD_CPUPROFILE=file profiles the target, to see where the
	// time goes: go tool pprof -top file.
	if f := os.Getenv("TRACKLET_LOAD_CPUPROFILE"); f != "" && target == "collector" {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	// TRACKLET_LOAD_TRACE=file records an execution trace of the target,
	// to see what its goroutines wait for: go tool trace file.
	if f := os.Getenv("TRACKLET_LOAD_TRACE"); f != "" && target == "collector" {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		trace.Start(out)
		defer trace.Stop()
	}
	fmt.Printf("http://%s %s\n", ln.Addr(), tid)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return srv.Shutdown(ctx)
}

// commitStats tells how well group commit groups: how many commits the
// load took, how many requests each carried and how long each took.
type commitStats struct {
	mu                sync.Mutex
	commits, requests int
	total, slowest    time.Duration
}

func (c *commitStats) Committed(requests, events int, d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	c.requests += requests
	c.total += d
	c.slowest = max(c.slowest, d)
}

func (c *commitStats) report(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commits == 0 {
		return
	}
	fmt.Fprintf(w, "collector: %d group commits, %.1f requests each, %s mean, %s slowest\n", c.commits,
		float64(c.requests)/float64(c.commits), (c.total / time.Duration(c.commits)).Round(time.Microsecond),
		c.slowest.Round(time.Microsecond))
}
