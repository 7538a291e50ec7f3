//go:build !js

package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLine is the worker's log line after each archive run.
var runLine = regexp.MustCompile(`"msg":"archive run","parts":(\d+),"events":(\d+),"deleted":(\d+)`)

// trigger fires the worker's cron trigger (wrangler dev --test-scheduled)
// and waits for the run's log line, returning its parts, events and
// deleted counts. (workerd ignores /__scheduled's time parameter: a run is
// always now.)
func (w *devWorker) trigger(t *testing.T) (parts, events, deleted int) {
	t.Helper()
	before := len(runLine.FindAllString(w.Output(), -1))
	resp, body := do(t, "GET", w.URL+"/__scheduled?cron=20+*+*+*+*", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /__scheduled = %d %s", resp.StatusCode, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if runs := runLine.FindAllStringSubmatch(w.Output(), -1); len(runs) > before {
			m := runs[before]
			parts, _ = strconv.Atoi(m[1])
			events, _ = strconv.Atoi(m[2])
			deleted, _ = strconv.Atoi(m[3])
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no archive run logged; output:\n%s", w.Output())
		}
	}
}

// age moves the events D1 received in the last minutes back by d, as if
// received d ago.
func (w *devWorker) age(ctx context.Context, d time.Duration) {
	w.query(ctx, fmt.Sprintf("UPDATE events SET received_at_ms = received_at_ms - %d WHERE received_at_ms > %d",
		d.Milliseconds(), time.Now().Add(-10*time.Minute).UnixMilli()))
}

// TestArchiveToR2 posts events, fires the cron trigger for two hours later
// — twice — and reads the archive back through the admin API: each closed
// hour once in R2 (miniflare's local bucket), D1 trimmed to the window.
func TestArchiveToR2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	w := startWorker(t, map[string]string{"ADMIN_TOKEN": adminToken, "ARCHIVE_WINDOW_HOURS": "1"}, "--test-scheduled")
	ctx := context.Background()
	for _, tid := range []string{"tk_arch_a", "tk_arch_b"} {
		w.query(ctx, "INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('"+tid+"', 'a', '[]', 0, 0)")
	}
	for i, tid := range []string{"tk_arch_a", "tk_arch_a", "tk_arch_b"} {
		if resp, got := do(t, "POST", w.URL+"/events", nil, tenEvents(tid, fmt.Sprint("arch", i))); resp.StatusCode != 200 {
			t.Fatalf("POST /events = %d %s", resp.StatusCode, got)
		}
	}
	w.consumed(t, 3, 30*time.Second)

	// Now the events' hour is open: nothing to archive.
	if parts, _, _ := w.trigger(t); parts != 0 {
		t.Errorf("a run within the hour archived %d parts", parts)
	}
	// As if they had come three hours ago: their hour is closed and past
	// the 1-hour window. Run twice, as a retried trigger would.
	w.age(ctx, 3*time.Hour)
	// All of them are deleted but the newest, which D1 keeps so that seq
	// (SQLite's rowid) is never handed out again.
	if parts, events, deleted := w.trigger(t); parts != 2 || events != 30 || deleted != 29 {
		t.Errorf("first run: %d parts, %d events, %d deleted; want 2, 30, 29", parts, events, deleted)
	}
	if parts, events, deleted := w.trigger(t); parts != 0 || events != 0 || deleted != 0 {
		t.Errorf("second run: %d parts, %d events, %d deleted; want nothing", parts, events, deleted)
	}
	if rows := w.query(ctx, "SELECT count(*) AS n FROM events"); rows[0]["n"] != float64(1) {
		t.Errorf("D1 keeps %v events past the window, want 1", rows[0]["n"])
	}
	// A late request for the archived hour (a dead-letter replay): the
	// hour's second part, with only the new events.
	if resp, got := do(t, "POST", w.URL+"/events", nil, tenEvents("tk_arch_a", "late")); resp.StatusCode != 200 {
		t.Fatalf("POST /events = %d %s", resp.StatusCode, got)
	}
	w.consumed(t, 4, 30*time.Second)
	w.age(ctx, 3*time.Hour)
	if parts, events, deleted := w.trigger(t); parts != 1 || events != 10 || deleted != 10 {
		t.Errorf("run after the late events: %d parts, %d events, %d deleted; want 1, 10, 10", parts, events, deleted)
	}

	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	resp, got := do(t, "GET", w.URL+"/v1/archive?trackingId=tk_arch_a", auth, "")
	var list struct {
		Parts []struct {
			Hour   time.Time `json:"hour"`
			Events int       `json:"events"`
			Files  []struct {
				Key string `json:"key"`
			} `json:"files"`
		} `json:"parts"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(got, &list) != nil || len(list.Parts) != 2 || list.Parts[0].Events != 20 ||
		list.Parts[1].Events != 10 || list.Parts[1].Files[0].Key == list.Parts[0].Files[0].Key {
		t.Fatalf("GET /v1/archive = %d %s", resp.StatusCode, got)
	}
	key := list.Parts[0].Files[0].Key
	resp, got = do(t, "GET", w.URL+"/v1/archive/file?key="+key, auth, "")
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if resp.StatusCode != 200 || len(lines) != 20 || !strings.Contains(lines[0], `"eventId":"arch0-0"`) {
		t.Errorf("GET %s = %d with %d lines:\n%s", key, resp.StatusCode, len(lines), got)
	}
	manifest := strings.TrimSuffix(key, "-1.ndjson") + ".manifest.json"
	inHour := 20 // the late request was aged into the same hour, unless the test crossed a full hour
	if list.Parts[1].Hour.Equal(list.Parts[0].Hour) {
		inHour = 30
	}
	if resp, got = do(t, "GET", w.URL+"/v1/archive/file?key="+manifest, auth, ""); resp.StatusCode != 200 ||
		!strings.Contains(string(got), fmt.Sprintf(`"events": %d`, inHour)) {
		t.Errorf("GET %s = %d %s", manifest, resp.StatusCode, got)
	}
	if resp, _ = do(t, "GET", w.URL+"/v1/archive", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/archive without the token = %d", resp.StatusCode)
	}
	if resp, _ = do(t, "GET", w.URL+"/v1/archive/file?key=tk_arch_a/none.ndjson", auth, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing file = %d, want 404", resp.StatusCode)
	}
}
