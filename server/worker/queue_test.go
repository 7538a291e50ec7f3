//go:build !js

package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchLine is the consumer's log line for each queue batch it stored.
var batchLine = regexp.MustCompile(`"msg":"stored queued events","messages":(\d+),"accepted":\d+,"duplicates":\d+,"statements":(\d+),"queue":"([^"]+)"`)

// TestWorkerConcurrency has 8 clients send requests, each twice (a
// client's retry), while the consumer stores queue batches in between:
// every event is stored once, with its own request's session, and every
// queue batch took one statement.
func TestWorkerConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	w, tid := benchWorker(t)
	const clients, requests = 8, 15
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		retried int
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				evs := make([]string, 10)
				for i := range evs {
					evs[i] = ev(fmt.Sprintf("c%d-r%d-%d", c, r, i), "View")
				}
				b := fmt.Sprintf(`{"trackingId":%q,"sessionId":"c%d-r%d","eventList":[%s]}`, tid, c, r, strings.Join(evs, ","))
				for range 2 {
					for {
						resp, got, err := try("POST", w.URL+"/events", nil, b)
						if err != nil || resp.StatusCode == 503 {
							// The pool was full, or (seen on a loaded machine
							// during the first burst) workerd restarted the
							// isolate, or closed a kept-alive connection as
							// the request went out: retry, as the tracker
							// does. The retry may enqueue the request again;
							// D1 must still hold each event once.
							mu.Lock()
							retried++
							mu.Unlock()
							continue
						}
						if resp.StatusCode != 200 {
							t.Errorf("POST /events = %d %s", resp.StatusCode, got)
						}
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	sent := 2 * clients * requests
	if retried == 0 {
		if a, d := w.consumed(t, sent, 60*time.Second); a != sent*5 || d != sent*5 {
			t.Errorf("consumer stored %d, dropped %d as duplicates; want %d and %d", a, d, sent*5, sent*5)
		}
	} else {
		// Some of the retried requests may have been enqueued twice.
		for deadline := time.Now().Add(60 * time.Second); consumedMessages(w) < sent; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the consumer stored %d of at least %d messages", consumedMessages(w), sent)
			}
		}
		t.Logf("%d requests were retried after a 503", retried)
	}
	rows := w.query(context.Background(), `SELECT count(*) AS n, count(DISTINCT event_id) AS ids,
		sum(substr(event_id, 1, length(session_id)) != session_id) AS mixed FROM events WHERE tracking_id = '`+tid+`'`)
	if r := rows[0]; r["n"] != float64(clients*requests*10) || r["ids"] != r["n"] || r["mixed"] != float64(0) {
		t.Errorf("D1 has %v: want %d events, each once, none with another request's session", r, clients*requests*10)
	}
	batches := batchLine.FindAllStringSubmatch(w.Output(), -1)
	if len(batches) == 0 {
		t.Fatal("no consumer batch logged")
	}
	for _, m := range batches {
		if m[2] != "1" {
			t.Errorf("a queue batch of %s messages took %s statements, want 1", m[1], m[2])
		}
	}
	t.Logf("%d requests in %d queue batches", sent, len(batches))
}

// TestDeadLetterReplay breaks D1 for one request's events: the consumer
// retries, the messages go to the dead-letter queue, whose consumer
// retries too; once D1 works again they are stored, once. The retry
// settings are wrangler.jsonc's but shortened, so that the test runs in
// seconds.
func TestDeadLetterReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	setup(t)
	dir := workerDir(t)
	config, err := os.ReadFile(filepath.Join(dir, "wrangler.jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	short := strings.NewReplacer(`"max_retries": 10,`, `"max_retries": 1,`, `"retry_delay": 300`, `"retry_delay": 1`,
		`"retry_delay": 30`, `"retry_delay": 0`).Replace(string(config))
	if short == string(config) || strings.Count(short, `"retry_delay"`) != 2 {
		t.Fatal("wrangler.jsonc's retry settings have changed: update this test")
	}
	path := filepath.Join(dir, fmt.Sprintf("wrangler.test-%d.jsonc", os.Getpid()))
	if err := os.WriteFile(path, []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	w := startWorker(t, nil, "--config", path)
	ctx := context.Background()
	const tid = "tk_replay"
	w.query(ctx, "INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('"+tid+"', 'r', '[]', 0, 0)")
	w.query(ctx, `CREATE TRIGGER outage BEFORE INSERT ON events WHEN NEW.event_type = 'Doomed'
		BEGIN SELECT RAISE(ABORT, 'D1 is down'); END`)
	if resp, got := do(t, "POST", w.URL+"/events", nil, body(tid, ev("d1", "Doomed"), ev("d2", "View"))); resp.StatusCode != 200 {
		t.Fatalf("POST /events = %d %s", resp.StatusCode, got)
	}
	// Wait for the dead-letter consumer to have failed at least once.
	deadFailed := `"msg":"store queued events","queue":"tracklet-events-dead"`
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(w.Output(), deadFailed); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the message never reached the dead-letter consumer:\n%s", w.Output())
		}
	}
	if rows := w.query(ctx, "SELECT count(*) AS n FROM events"); rows[0]["n"] != float64(0) {
		t.Fatalf("during the outage D1 has %v events", rows[0]["n"])
	}
	w.query(ctx, "DROP TRIGGER outage")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var replayed bool
		for _, m := range batchLine.FindAllStringSubmatch(w.Output(), -1) {
			replayed = replayed || m[3] == "tracklet-events-dead"
		}
		if replayed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead-letter consumer never stored the batch:\n%s", w.Output())
		}
	}
	rows := w.query(ctx, "SELECT event_id FROM events ORDER BY seq")
	if len(rows) != 2 || rows[0]["event_id"] != "d1" || rows[1]["event_id"] != "d2" {
		t.Errorf("after the replay D1 has %v, want d1 and d2", rows)
	}
}
