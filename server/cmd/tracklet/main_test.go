package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server/sqlite"
)

// binary is the tracklet command, built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	execLimitedIfAsked()
	dir, err := os.MkdirTemp("", "tracklet-cmd-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tracklet")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building tracklet: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tracklet runs the command to completion and returns its stdout.
func tracklet(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("tracklet %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

func mustTracklet(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tracklet(t, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// collector is a `tracklet serve` process.
type collector struct {
	cmd *exec.Cmd
	url string
	out *syncBuffer // stdout, for the banner
	log *logWatch   // stderr
}

var listening = regexp.MustCompile(`listening on (https?://\S+)\n`)

func startCollector(t *testing.T, args ...string) *collector {
	t.Helper()
	return startCollectorEnv(t, nil, args...)
}

// startCollectorEnv starts a collector with env added to the environment.
func startCollectorEnv(t *testing.T, env []string, args ...string) *collector {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return startCommand(t, cmd)
}

// startCommand starts cmd, a collector, and waits until it listens.
func startCommand(t *testing.T, cmd *exec.Cmd) *collector {
	t.Helper()
	c := &collector{cmd: cmd, out: &syncBuffer{found: make(chan string, 1)}}
	// exec copies stdout into c.out, and Wait waits for the copy: after
	// stop, c.out holds everything the collector printed.
	cmd.Stdout = c.out
	logf, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.log = &logWatch{grew: make(chan struct{}, 1)}
	cmd.Stderr = io.MultiWriter(logf, c.log)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			logs, _ := os.ReadFile(logf.Name())
			t.Logf("collector stderr:\n%s", logs)
		}
	})
	select {
	case c.url = <-c.out.found:
	case <-time.After(20 * time.Second):
	}
	if c.url == "" {
		t.Fatalf("collector did not say where it listens:\n%s", c.out)
	}
	return c
}

// syncBuffer collects output written by one goroutine and read by another.
// It sends the collector's URL on found once it appears.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	sent  bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if m := listening.FindStringSubmatch(b.buf.String()); m != nil && !b.sent {
		b.sent = true
		b.found <- m[1]
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logWatch keeps a collector's log and signals every write, so that tests
// wait for a log line rather than for a while.
type logWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	grew chan struct{}
}

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.grew <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitLog waits until the collector has logged a line containing all of
// parts, and returns it.
func (c *collector) waitLog(t *testing.T, timeout time.Duration, parts ...string) string {
	t.Helper()
	return c.waitLogN(t, timeout, 1, parts...)
}

// waitLogN waits until the collector has logged n lines containing all of
// parts, and returns the n-th.
func (c *collector) waitLogN(t *testing.T, timeout time.Duration, n int, parts ...string) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		seen := 0
		for line := range strings.Lines(c.log.String()) {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				if seen++; seen == n {
					return line
				}
			}
		}
		select {
		case <-c.log.grew:
		case <-deadline:
			t.Fatalf("the collector logged %d of %d lines with %q within %v:\n%s", seen, n, parts, timeout, c.log)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if !c.waitExit(t) {
		c.cmd.Process.Kill()
		t.Error("collector ignored SIGTERM")
	}
}

// waitExit waits up to 15 s for the collector, sent SIGTERM, to exit,
// and reports whether it did. An exit with an error fails the test.
func (c *collector) waitExit(t *testing.T) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("collector exited with %v after SIGTERM", err)
		}
		return true
	case <-time.After(15 * time.Second):
		return false
	}
}

// sendUntil starts senders goroutines, added to wg, that each call send
// with their number g and a count i from 0 until stop is closed or send
// returns false.
func sendUntil(wg *sync.WaitGroup, stop <-chan struct{}, senders int, send func(g, i int) bool) {
	for g := range senders {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !send(g, i) {
					return
				}
			}
		})
	}
}

// openStore opens the database file at path, which no collector has open,
// for the test to read or seed; the caller closes it.
func openStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+"/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestTrackerCreateServeExport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sub", "dir", "tracklet.db") // the directory is created
	tid := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "shop", "--origin", "https://shop.example/"))
	if !regexp.MustCompile(`^tk_[a-z2-7]{20}$`).MatchString(tid) {
		t.Fatalf("tracker create printed %q, want only a trackingId", tid)
	}
	c := startCollector(t, "--db", db)
	// A tracker created while the collector runs is usable at once.
	tid2 := strings.TrimSpace(mustTracklet(t, "tracker", "create", "--db", db, "--name", "blog"))
	for i, id := range []string{tid, tid2} {
		resp := post(t, c.url, fmt.Sprintf(`{"trackingId":%q,"sessionId":"s","userId":"u%d","eventList":[
			{"eventId":"e1","eventType":"MovieRating","eventValue":4.5,"itemId":"m1","sentAt":1714979289.123,
			 "properties":"{\"numberOfRatings\":12,\"itemId\":\"ignored\",\"genre\":\"drama, \\\"noir\\\"\"}"},
			{"eventType":"View","sentAt":1714979290,"properties":"{\"itemId\":\"m2\",\"eventValue\":\"3\"}"}]}`, id, i))
		if resp.StatusCode != 200 {
			t.Fatalf("post for %s: %d", id, resp.StatusCode)
		}
	}
	c.stop(t)

	out := mustTracklet(t, "export", "--db", db, "--tracking-id", tid, "--format", "ndjson")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("export printed %d lines, want 2:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"trackingId": tid, "sessionId": "s", "userId": "u0", "eventId": "e1", "eventType": "MovieRating",
		"eventValue": 4.5, "itemId": "m1", "sentAt": 1714979289.123,
		"properties": `{"numberOfRatings":12,"itemId":"ignored","genre":"drama, \"noir\""}`}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("ndjson %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["receivedAt"].(float64); !ok {
		t.Errorf("ndjson has no receivedAt: %s", lines[0])
	}

	csv := mustTracklet(t, "export", "--db", db, "--tracking-id", tid, "--format", "csv")
	wantCSV := "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,GENRE,NUMBER_OF_RATINGS\n" +
		"u0,m1,1714979289,MovieRating,4.5,\"drama, \"\"noir\"\"\",12\n" +
		"u0,m2,1714979290,View,3,,\n"
	if csv != wantCSV {
		t.Errorf("csv export:\n%s\nwant:\n%s", csv, wantCSV)
	}

	list := mustTracklet(t, "tracker", "list", "--db", db)
	if !strings.Contains(list, tid) || !strings.Contains(list, "https://shop.example") || !strings.Contains(list, tid2) {
		t.Errorf("tracker list:\n%s", list)
	}
	mustTracklet(t, "tracker", "disable", tid2, "--db", db)
	if list := mustTracklet(t, "tracker", "list", "--db", db); !regexp.MustCompile(tid2 + `\s+blog\s+disabled`).MatchString(list) {
		t.Errorf("tracker list after disable:\n%s", list)
	}
}

func TestEnvironmentConfiguresFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	out, err := tracklet(t, []string{"TRACKLET_DB=" + db}, "tracker", "create", "--name", "from-env")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("TRACKLET_DB was not used: %v", err)
	}
	// A flag on the command line wins over the environment.
	other := filepath.Join(t.TempDir(), "flag.db")
	if _, err := tracklet(t, []string{"TRACKLET_DB=" + db}, "tracker", "create", "--name", "x", "--db", other); err != nil {
		t.Fatal(err)
	}
	if list := mustTracklet(t, "tracker", "list", "--db", other); strings.Contains(list, strings.TrimSpace(out)) {
		t.Error("the flag database holds the environment's tracker")
	}
}

func TestServeDemoReusesItsTracker(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	var ids []string
	for range 2 {
		c := startCollector(t, "--db", db, "--demo")
		resp, err := http.Get(c.url + "/demo/")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.stop(t) // the banner is complete once the process has exited
		m := regexp.MustCompile(`Demo page: (\S+)\nDemo trackingId: (tk_\w+)`).FindStringSubmatch(c.out.String())
		if m == nil || m[1] != c.url+"/demo/" {
			t.Fatalf("banner lacks the demo page and trackingId:\n%s", c.out)
		}
		if !strings.Contains(string(page), `data-tracking-id="`+m[2]+`"`) {
			t.Errorf("the demo page does not carry the demo trackingId %s", m[2])
		}
		ids = append(ids, m[2])
	}
	if ids[0] != ids[1] {
		t.Errorf("demo tracker %s then %s; want it reused", ids[0], ids[1])
	}
}
