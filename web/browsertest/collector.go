package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the collector's own driver, to read its store
)

// Collector is a real `tracklet serve` process on 127.0.0.1, storing into a
// SQLite file of the test's.
type Collector struct {
	URL  string // e.g. http://127.0.0.1:40123, or https:// with --tls-cert
	DB   string // the SQLite file
	Args []string

	t    testing.TB
	addr string
	cmd  *exec.Cmd
	out  *SyncBuffer
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the collector from this checkout once per test process and
// returns its path. The embedded browser assets are what `make build` put
// in web/dist, which must have been built from this tree (CheckDist).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if err := CheckDist(root); err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "tracklet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tracklet")
		cmd := exec.Command("go", "build", "-o", binPath, "./server/cmd/tracklet")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the collector: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// StartCollector runs `tracklet serve` on a free loopback port with a fresh
// database and extra serve flags, and stops it when t ends.
func StartCollector(t testing.TB, args ...string) *Collector {
	t.Helper()
	c := &Collector{t: t, DB: filepath.Join(t.TempDir(), "tracklet.db"), Args: args, addr: "127.0.0.1:0"}
	c.start()
	t.Cleanup(c.Stop)
	return c
}

var listenLine = regexp.MustCompile(`(?i)listening on (https?://[0-9.:\[\]a-z]+)`)

func (c *Collector) start() {
	c.t.Helper()
	args := append([]string{"serve", "--addr", c.addr, "--db", c.DB}, c.Args...)
	c.cmd = exec.Command(Binary(c.t), args...)
	c.out = &SyncBuffer{}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	c.cmd.Stderr = c.out
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stdout, c.out))
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case url := <-found:
		c.URL = url
		// A restart must come back on the same port: pages keep its URL.
		_, c.addr, _ = strings.Cut(url, "://")
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		c.t.Fatalf("collector did not say where it listens within 20 s; output:\n%s", c.out)
	}
}

// Stop ends the collector gracefully (SIGTERM) and waits for it.
func (c *Collector) Stop() {
	if c.cmd == nil || c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-done
		c.t.Errorf("collector ignored SIGTERM for 15 s; output:\n%s", c.out)
	}
}

// Kill ends the collector with SIGKILL, as a crash would.
func (c *Collector) Kill() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// Restart starts the collector again on the same port and database.
func (c *Collector) Restart() {
	c.t.Helper()
	c.Stop()
	c.start()
}

// Output is what the collector has printed so far.
func (c *Collector) Output() string { return c.out.String() }

// CreateTracker runs `tracklet tracker create` against the collector's
// database and returns the new trackingId.
func (c *Collector) CreateTracker(name string, origins ...string) string {
	c.t.Helper()
	args := []string{"tracker", "create", "--db", c.DB, "--name", name}
	for _, o := range origins {
		args = append(args, "--origin", o)
	}
	out, err := exec.Command(Binary(c.t), args...).Output()
	if err != nil {
		c.t.Fatalf("tracker create: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Row is one stored event, as the collector's events table holds it.
type Row struct {
	TrackingID, EventID, SessionID, EventType string
	UserID, ItemID, RecommendationID          sql.NullString
	Impression, Properties                    sql.NullString
	EventValue                                sql.NullFloat64
	SentAtMs, ReceivedAtMs                    int64
	// OccurredAtMs is sentAt corrected for the client's clock skew.
	OccurredAtMs int64
}

// Events reads every stored event of trackingID in arrival order, straight
// from the SQLite file.
func (c *Collector) Events(ctx context.Context, trackingID string) []Row {
	c.t.Helper()
	db := c.open()
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT tracking_id, event_id, session_id, event_type, user_id, item_id,
		recommendation_id, impression, properties, event_value, sent_at_ms, received_at_ms, occurred_at_ms
		FROM events WHERE tracking_id = ? ORDER BY seq`, trackingID)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.TrackingID, &r.EventID, &r.SessionID, &r.EventType, &r.UserID, &r.ItemID,
			&r.RecommendationID, &r.Impression, &r.Properties, &r.EventValue, &r.SentAtMs, &r.ReceivedAtMs, &r.OccurredAtMs); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// WaitForEvents polls the store until trackingID has at least n events or
// the timeout passes, and returns what is there.
func (c *Collector) WaitForEvents(ctx context.Context, trackingID string, n int, timeout time.Duration) []Row {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows := c.Events(ctx, trackingID)
		if len(rows) >= n || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Duplicates is how many events the collector has dropped as duplicates
// of ones it already stored since it started, from its /metrics: the
// store keeps an eventId once whatever arrives, so an event sent twice
// shows here and nowhere else.
func (c *Collector) Duplicates(ctx context.Context) int {
	c.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/metrics", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req) // an http:// collector: no test CA needed
	if err != nil {
		c.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	m := duplicatesLine.FindSubmatch(body)
	if m == nil {
		c.t.Fatalf("/metrics has no duplicate counter:\n%s", body)
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		c.t.Fatal(err)
	}
	return int(n)
}

var duplicatesLine = regexp.MustCompile(`(?m)^tracklet_events_total\{result="duplicate"\} (\S+)$`)

// SyncBuffer collects a process's output from two goroutines (stdout and
// stderr), for tests that start other processes too.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Rejection is one refused request, as the collector's rejected table
// holds it.
type Rejection struct {
	Status       int
	Reason, Body string
}

// Rejected reads the refused requests of trackingID, oldest first,
// straight from the SQLite file.
func (c *Collector) Rejected(ctx context.Context, trackingID string) []Rejection {
	c.t.Helper()
	db := c.open()
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT status, reason, body FROM rejected WHERE tracking_id = ? ORDER BY id`, trackingID)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []Rejection
	for rows.Next() {
		var r Rejection
		if err := rows.Scan(&r.Status, &r.Reason, &r.Body); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// open opens the collector's SQLite file, read-only.
func (c *Collector) open() *sql.DB {
	c.t.Helper()
	db, err := sql.Open("sqlite", "file:"+c.DB+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		c.t.Fatal(err)
	}
	return db
}
