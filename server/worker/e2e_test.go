//go:build !js

package worker_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/internal/conformance"
	"github.com/tracklet/tracklet/server/sqlite"
)

// The end-to-end tests run one worker under wrangler dev and, beside it, the
// native collector's handler on an in-memory SQLite store with the same
// trackers, and send both the same requests.

// pair is the worker and the native collector, sharing trackers.
type pair struct {
	worker   *devWorker
	native   *httptest.Server
	nativeDB *sqlite.DB
	// Trackers by role: open takes any origin, shop only
	// https://shop.example, off is disabled.
	open, shop, off string
}

func startPair(t *testing.T) *pair {
	t.Helper()
	ctx := context.Background()
	w := startWorker(t, map[string]string{"ADMIN_TOKEN": adminToken})
	db, err := sqlite.Open(ctx, sqlite.Memory, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &pair{worker: w, nativeDB: db}
	var inserts []string
	for _, tr := range []struct {
		id      *string
		name    string
		origins []string
	}{{&p.open, "open", nil}, {&p.shop, "shop", []string{conformance.ShopOrigin}}, {&p.off, "off", nil}} {
		created, err := db.CreateTracker(ctx, tr.name, tr.origins)
		if err != nil {
			t.Fatal(err)
		}
		*tr.id = created.ID
		origins, _ := json.Marshal(created.Origins)
		inserts = append(inserts, fmt.Sprintf(
			"INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('%s', '%s', '%s', %d, %d)",
			created.ID, created.Name, origins, boolInt(tr.name == "off"), created.CreatedAt.UnixMilli()))
	}
	if err := db.SetTrackerDisabled(ctx, p.off, true); err != nil {
		t.Fatal(err)
	}
	w.query(ctx, strings.Join(inserts, "; "))
	p.native = httptest.NewServer(trackhttp.NewHandler(trackhttp.Config{Store: db, Rejected: db,
		AdminToken: adminToken, Admin: db}))
	t.Cleanup(p.native.Close)
	return p
}

const adminToken = "test-admin-token"

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// consumed waits until the worker's queue consumer has stored n messages
// in all (counting from its start) and returns the accepted and duplicate
// event counts it logged.
func (w *devWorker) consumed(t testing.TB, n int, timeout time.Duration) (accepted, duplicates int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := 0
		msgs, accepted, duplicates = w.consumerCounts()
		if msgs >= n {
			if msgs > n {
				t.Errorf("the consumer stored %d messages, want %d", msgs, n)
			}
			return accepted, duplicates
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer stored %d of %d messages within %v; wrangler output:\n%s", msgs, n, timeout, w.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consumerCounts sums the consumer's log lines: messages, events
// accepted and events dropped as duplicates.
func (w *devWorker) consumerCounts() (msgs, accepted, duplicates int) {
	for _, m := range consumerLine.FindAllStringSubmatch(w.Output(), -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		c, _ := strconv.Atoi(m[3])
		msgs, accepted, duplicates = msgs+a, accepted+b, duplicates+c
	}
	return msgs, accepted, duplicates
}

// storedOnce waits until the consumer has accepted one event, and fails if
// it accepted more. A browser may send an event twice (a request it gave up
// on a slow, loaded machine and retried): the second copy is a duplicate,
// not a second event.
func (w *devWorker) storedOnce(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, accepted, _ := w.consumerCounts()
		if accepted >= 1 {
			if accepted > 1 {
				t.Errorf("the consumer accepted %d events, want 1", accepted)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer accepted no event within %v; wrangler output:\n%s", timeout, w.Output())
		}
		time.Sleep(100 * time.Millisecond) // a bounded poll of the worker's log
	}
}

// consumerLine is the worker's log line for each consumed queue batch.
var consumerLine = regexp.MustCompile(`"msg":"stored queued events","messages":(\d+),"accepted":(\d+),"duplicates":(\d+)`)

func body(tid string, events ...string) string {
	return fmt.Sprintf(`{"trackingId":%q,"sessionId":"s1","userId":"u1","eventList":[%s]}`, tid, strings.Join(events, ","))
}

func ev(id, typ string) string {
	idPart := ""
	if id != "" {
		idPart = fmt.Sprintf(`"eventId":%q,`, id)
	}
	return fmt.Sprintf(`{%s"eventType":%q,"sentAt":1714979289.123,"itemId":"movie1","eventValue":4.5,
		"properties":"{\"numberOfRatings\":\"12\"}"}`, idPart, typ)
}

func TestWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev")
	}
	p := startPair(t)
	w := p.worker
	ctx := context.Background()
	post := func(b string, header map[string]string) (*http.Response, []byte) {
		return do(t, "POST", w.URL+"/events", header, b)
	}
	sent := 0 // requests answered 2xx: queue messages the consumer must store

	t.Run("valid batch is stored in D1", func(t *testing.T) {
		resp, got := post(body(p.open, ev("e1", "Rate"), ev("e2", "View"), ev("", "NoID")),
			map[string]string{"Content-Type": "text/plain;charset=UTF-8", "X-Tracklet-Sent-At": "1714979290000"})
		if resp.StatusCode != 200 || string(got) != "{}" {
			t.Fatalf("POST /events = %d %s", resp.StatusCode, got)
		}
		if h := resp.Header.Get("X-Tracklet-Accepted"); h != "3" {
			t.Errorf("X-Tracklet-Accepted = %q, want 3", h)
		}
		sent++
		if a, d := w.consumed(t, sent, 20*time.Second); a != 3 || d != 0 {
			t.Errorf("consumer stored %d, dropped %d; want 3, 0", a, d)
		}
		rows := w.query(ctx, "SELECT * FROM events WHERE tracking_id = '"+p.open+"' ORDER BY seq")
		if len(rows) != 3 {
			t.Fatalf("D1 has %d events, want 3: %v", len(rows), rows)
		}
		r := rows[0]
		if r["event_id"] != "e1" || r["event_type"] != "Rate" || r["session_id"] != "s1" || r["user_id"] != "u1" ||
			r["item_id"] != "movie1" || r["event_value"] != 4.5 || r["properties"] != `{"numberOfRatings":"12"}` ||
			r["sent_at_ms"] != float64(1714979289123) || r["impression"] != nil {
			t.Errorf("stored row %v", r)
		}
		// The client's clock is 877 ms behind ours at sending: occurredAt
		// is sentAt corrected by as much.
		skew := r["received_at_ms"].(float64) - 1714979290000
		if occ := r["occurred_at_ms"].(float64); occ != 1714979289123+skew {
			t.Errorf("occurred_at_ms = %v, want sent_at_ms + %v", occ, skew)
		}
		if id, _ := rows[2]["event_id"].(string); len(id) != 36 || id[14] != '7' {
			t.Errorf("an event without eventId was stored with id %q, want a UUIDv7", id)
		}
	})

	t.Run("duplicates are dropped", func(t *testing.T) {
		// A retry of the first request, then a request mixing an old id, an
		// id repeated within it, and a new one.
		for _, b := range []string{
			body(p.open, ev("e1", "Rate"), ev("e2", "View")),
			body(p.open, ev("e2", "View"), ev("e3", "First"), ev("e3", "Second")),
		} {
			if resp, got := post(b, nil); resp.StatusCode != 200 {
				t.Fatalf("POST /events = %d %s", resp.StatusCode, got)
			}
			sent++
		}
		if a, d := w.consumed(t, sent, 20*time.Second); a != 4 || d != 4 {
			t.Errorf("consumer totals: %d stored, %d dropped; want 4, 4", a, d)
		}
		rows := w.query(ctx, "SELECT event_id, event_type FROM events WHERE tracking_id = '"+p.open+"' ORDER BY seq")
		var ids []string
		for _, r := range rows {
			ids = append(ids, fmt.Sprint(r["event_id"], "/", r["event_type"]))
		}
		if len(rows) != 4 || ids[3] != "e3/First" {
			t.Errorf("stored events %v, want e1, e2, (generated id), e3/First", ids)
		}
	})

	t.Run("gzip body and doubled slash", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(body(p.shop, ev("z1", "Zipped"))))
		zw.Close()
		resp, got := do(t, "POST", w.URL+"//events", map[string]string{
			"Content-Encoding": "gzip", "Content-Type": "application/json", "Origin": "https://shop.example"}, zb.String())
		if resp.StatusCode != 200 {
			t.Fatalf("gzip POST //events = %d %s", resp.StatusCode, got)
		}
		if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "https://shop.example" {
			t.Errorf("Access-Control-Allow-Origin = %q", h)
		}
		sent++
		w.consumed(t, sent, 20*time.Second)
		rows := w.query(ctx, "SELECT event_type FROM events WHERE tracking_id = '"+p.shop+"'")
		if len(rows) != 1 || rows[0]["event_type"] != "Zipped" {
			t.Errorf("D1 has %v for the shop tracker", rows)
		}
	})

	t.Run("refusals as the native collector's", func(t *testing.T) {
		// The table server/internal/conformance runs against the native
		// collector too; here both get it, so that their rejected-request
		// logs can be compared below.
		tr := conformance.Trackers{Open: p.open, Shop: p.shop, Off: p.off}
		conformance.Run(t, w.URL, tr, conformance.Refusals)
		conformance.Run(t, p.native.URL, tr, conformance.Refusals)
		// Nothing refused may reach the queue. The queue hands messages
		// over in order, so a marker sent after the refusals is consumed
		// no earlier than anything they enqueued: once it is, one that
		// got in shows as a message too many, or as the marker missing
		// when the count is reached.
		shop := map[string]string{"Content-Type": "application/json", "Origin": conformance.ShopOrigin}
		if resp, got := post(body(p.shop, ev("after-refusals", "Marker")), shop); resp.StatusCode != 200 {
			t.Fatalf("POST /events (marker) = %d %s", resp.StatusCode, got)
		}
		sent++
		w.consumed(t, sent, 20*time.Second)
		if rows := w.query(ctx, "SELECT 1 FROM events WHERE event_id = 'after-refusals'"); len(rows) != 1 {
			t.Errorf("the consumer had stored %d messages without the marker: a refused request reached the queue", sent)
		}
	})

	t.Run("admin API reads D1", func(t *testing.T) {
		auth := map[string]string{"Authorization": "Bearer " + adminToken}
		resp, got := do(t, "GET", w.URL+"/v1/events?trackingId="+p.open, auth, "")
		var page struct {
			Events []struct {
				EventID   string `json:"eventId"`
				EventType string `json:"eventType"`
				SessionID string `json:"sessionId"`
			} `json:"events"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(got, &page) != nil {
			t.Fatalf("GET /v1/events = %d %s", resp.StatusCode, got)
		}
		var ids []string
		for _, e := range page.Events {
			ids = append(ids, e.EventID+"/"+e.EventType)
		}
		if len(ids) != 4 || ids[0] != "e1/Rate" || ids[1] != "e2/View" || ids[3] != "e3/First" {
			t.Errorf("GET /v1/events lists %v", ids)
		}
		resp, got = do(t, "GET", w.URL+"/v1/events?trackingId="+p.open+"&format=ndjson", auth, "")
		if lines := strings.Count(string(got), "\n"); resp.StatusCode != 200 || lines != 4 {
			t.Errorf("NDJSON export: %d with %d lines:\n%s", resp.StatusCode, lines, got)
		}
		// Without the token both deployments refuse alike.
		for _, base := range []string{w.URL, p.native.URL} {
			resp, got = do(t, "GET", base+"/v1/stats", nil, "")
			if resp.StatusCode != 401 || !strings.Contains(string(got), "Bearer") {
				t.Errorf("%s/v1/stats without a token = %d %s", base, resp.StatusCode, got)
			}
		}
	})

	t.Run("refusals are logged alike", func(t *testing.T) {
		// The native log is written by the store's one writer, in order:
		// once an event sent after the refusals is stored (the answer
		// waits for its commit), every refusal before it is too.
		if resp, got := do(t, "POST", p.native.URL+"/events", nil, body(p.open, ev("barrier", "Marker"))); resp.StatusCode != 200 {
			t.Fatalf("native POST /events (barrier) = %d %s", resp.StatusCode, got)
		}
		rej, err := p.nativeDB.Rejected(ctx, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range rej {
			want = append(want, fmt.Sprintf("%d %s %q %q %q", r.Status, r.TrackingID, r.Reason, r.Origin, r.Body))
		}
		// The worker writes its log after each answer (waitUntil), with
		// nothing to wait on from outside: each look at D1 takes a
		// wrangler run, and the deadline bounds the looks.
		var rows []map[string]any
		for deadline := time.Now().Add(30 * time.Second); ; {
			rows = w.query(ctx, "SELECT status, coalesce(tracking_id, '') AS t, reason, coalesce(origin, '') AS o, body FROM rejected ORDER BY id DESC")
			if len(rows) >= len(want) || time.Now().After(deadline) {
				break
			}
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%v %s %q %q %q", r["status"], r["t"], r["reason"], r["o"], r["body"]))
		}
		if len(want) < 20 {
			t.Errorf("the native collector logged %d refusals, want at least 20", len(want))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("rejected requests differ:\nworker:\n%s\nnative:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
