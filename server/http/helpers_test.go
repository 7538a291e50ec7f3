package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/assets"
	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/sqlite/sqlitetest"
)

// env is a collector on a real SQLite file behind a real HTTP server.
type env struct {
	t      *testing.T
	db     *sqlite.DB
	path   string
	srv    *httptest.Server
	url    string
	client *http.Client
}

type envOption func(*trackhttp.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tracklet.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := trackhttp.Config{
		Store:    db,
		Rejected: db,
		// A build whose only precompressed form is the module's brotli.
		Assets: buildAssets([]assets.Source{
			{Name: "tracklet.js", Entry: true, Data: []byte(`/* loader */ load("wasm_exec.js", "tracklet.wasm")`)},
			{Name: "tracklet.wasm", Data: []byte("\x00asm\x01\x00\x00\x00 module")},
			{Name: "wasm_exec.js", Data: []byte("/* go */")},
		}, prefixEncoder("br", ".br", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x00asm")) })),
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(trackhttp.NewHandler(cfg))
	e := &env{t: t, db: db, path: path, srv: srv, url: srv.URL, client: srv.Client()}
	t.Cleanup(func() {
		srv.Close()
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func (e *env) tracker(origins ...string) string {
	e.t.Helper()
	tr, err := e.db.CreateTracker(context.Background(), "test", origins)
	if err != nil {
		e.t.Fatal(err)
	}
	return tr.ID
}

// response is what a test needs of an answer.
type response struct {
	status  int
	header  http.Header
	body    string
	message string // of a JSON error body
}

func (e *env) do(method, path string, body []byte, headers map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: string(data)}
	if resp.StatusCode >= 400 {
		var m struct{ Message *string }
		if err := json.Unmarshal(data, &m); err != nil || m.Message == nil {
			e.t.Errorf("%s %s: %d error body %q is not JSON with a message", method, path, resp.StatusCode, data)
		} else {
			r.message = *m.Message
		}
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		e.t.Errorf("%s %s: no x-amzn-RequestId", method, path)
	}
	return r
}

func (e *env) post(body string, headers map[string]string) response {
	e.t.Helper()
	return e.do(http.MethodPost, "/events", []byte(body), headers)
}

// row is one events row, read straight from the SQLite file as users' tools
// (and the browser tests) read it.
type row struct {
	TrackingID, EventID, SessionID, EventType    string
	UserID, ItemID, RecommendationID, Impression sql.NullString
	MetricAttribution, Properties                sql.NullString
	EventValue                                   sql.NullFloat64
	SentAtMs, ReceivedAtMs, OccurredAtMs         int64
}

func (e *env) rows() []row {
	e.t.Helper()
	db := sqlitetest.OpenReadOnly(e.t, e.path)
	rs, err := db.Query(`SELECT tracking_id, event_id, session_id, event_type, user_id, item_id, recommendation_id,
		impression, metric_attribution, properties, event_value, sent_at_ms, received_at_ms, occurred_at_ms
		FROM events ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.TrackingID, &r.EventID, &r.SessionID, &r.EventType, &r.UserID, &r.ItemID,
			&r.RecommendationID, &r.Impression, &r.MetricAttribution, &r.Properties, &r.EventValue,
			&r.SentAtMs, &r.ReceivedAtMs, &r.OccurredAtMs); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// rejections waits briefly for the asynchronous rejected-requests log.
func (e *env) rejections(want int) []*server.Rejection {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rs, err := e.db.Rejected(context.Background(), "", 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(rs) >= want || time.Now().After(deadline) {
			return rs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// body builds a PutEvents body around events given as JSON objects.
func body(trackingID string, events ...string) string {
	return `{"trackingId":"` + trackingID + `","sessionId":"s1","eventList":[` + strings.Join(events, ",") + `]}`
}

const okEvent = `{"eventType":"View","sentAt":1714979289.123}`

func repeatEvents(ev string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = ev
	}
	return out
}
