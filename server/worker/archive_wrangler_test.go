//go:build !js

package worker_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
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
	w := startWorker(t, map[string]string{"ADMIN_TOKEN": adminToken, "ARCHIVE_WINDOW_HOURS": "1",
		"ARCHIVE_PERSONALIZE_COLUMNS": "numberOfRatings"}, "--test-scheduled")
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
	// hour's second part, with only the new events. One has no itemId: no
	// Personalize row.
	late := make([]string, 10)
	for i := range 9 {
		late[i] = ev(fmt.Sprint("late-", i), "View")
	}
	late[9] = `{"eventId":"late-9","eventType":"View","sentAt":1714979289.123}`
	if resp, got := do(t, "POST", w.URL+"/events", nil, body("tk_arch_a", late...)); resp.StatusCode != 200 {
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
				Key    string `json:"key"`
				Format string `json:"format"`
			} `json:"files"`
		} `json:"parts"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(got, &list) != nil || len(list.Parts) != 2 || list.Parts[0].Events != 20 ||
		list.Parts[1].Events != 10 || list.Parts[1].Files[0].Key == list.Parts[0].Files[0].Key ||
		len(list.Parts[1].Files) != 3 || list.Parts[1].Files[1].Format != "personalize" || list.Parts[1].Files[2].Format != "personalize-schema" {
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
	for i, want := range []int{20, 9} {
		personalizeFile(t, w, auth, list.Parts[i].Files[1].Key, list.Parts[i].Files[2].Key, want)
	}
	if resp, _ = do(t, "GET", w.URL+"/v1/archive", nil, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/archive without the token = %d", resp.StatusCode)
	}
	if resp, _ = do(t, "GET", w.URL+"/v1/archive/file?key=tk_arch_a/none.ndjson", auth, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing file = %d, want 404", resp.StatusCode)
	}
}

// personalizeFile reads an archived Personalize CSV and its schema through
// the admin API: the header is the schema's fields, ending in the column
// of ARCHIVE_PERSONALIZE_COLUMNS, and there are rows rows, each with an
// itemId.
func personalizeFile(t *testing.T, w *devWorker, auth map[string]string, csvKey, schemaKey string, rows int) {
	t.Helper()
	resp, got := do(t, "GET", w.URL+"/v1/archive/file?key="+csvKey, auth, "")
	records, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if resp.StatusCode != 200 || err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET %s = %d %s, %v: %s", csvKey, resp.StatusCode, resp.Header.Get("Content-Type"), err, got)
	}
	resp, got = do(t, "GET", w.URL+"/v1/archive/file?key="+schemaKey, auth, "")
	var schema struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(got, &schema) != nil {
		t.Fatalf("GET %s = %d %s", schemaKey, resp.StatusCode, got)
	}
	var names []string
	for _, f := range schema.Fields {
		names = append(names, f.Name)
	}
	if !slices.Equal(records[0], names) || len(names) != 8 || names[1] != "ITEM_ID" || names[7] != "NUMBER_OF_RATINGS" {
		t.Errorf("%s: header %v, schema fields %v; want the same, ITEM_ID second, NUMBER_OF_RATINGS last", csvKey, records[0], names)
	}
	if len(records)-1 != rows {
		t.Errorf("%s: %d rows, want %d", csvKey, len(records)-1, rows)
	}
	for _, r := range records[1:] {
		if r[1] != "movie1" || r[7] != "12" {
			t.Errorf("%s: row %v, want item movie1 and 12 ratings", csvKey, r)
		}
	}
}
