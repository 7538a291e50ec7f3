package http_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlite"
)

// FuzzPutEvents feeds arbitrary bodies to the real handler and store: it
// must never panic, never answer 5xx, and answer 200 only with the body {}.
// As a plain test it runs the seed corpus; `go test -fuzz=FuzzPutEvents
// ./server/http` explores further.
func FuzzPutEvents(f *testing.F) {
	db, err := sqlite.Open(context.Background(), sqlite.Memory, sqlite.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	tr, err := db.CreateTracker(context.Background(), "fuzz", nil)
	if err != nil {
		f.Fatal(err)
	}
	h := trackhttp.NewHandler(trackhttp.Config{Store: db, Rejected: db})
	tid := []byte(tr.ID)
	for _, seed := range []string{
		body("TID", okEvent),
		body("TID", `{"eventType":"V","sentAt":"2024-05-06T07:08:09Z","impression":["a"],"eventValue":1e308}`),
		body("TID", `{"eventType":"V","sentAt":1,"properties":"{\"a\":1,\"b\":true,\"c\":\"x\"}"}`),
		body("TID", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"s"}}`),
		`{"trackingId":"TID","sessionId":"s","userId":null,"eventList":[null]}`,
		`{"trackingId":1,"eventList":{}}`, `[]`, `"x"`, `{`, ``, `{"eventList":[{"sentAt":-0}]}`,
		body("TID", `{"eventType":"V","sentAt":1e400}`),
		body("TID", `{"eventType":"\ud800","sentAt":1,"eventId":"\u0000"}`),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.ReplaceAll(data, []byte("TID"), tid)
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(data))
		req.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s for %q", rec.Code, rec.Body, data)
		}
		if rec.Code == 200 && rec.Body.String() != "{}" {
			t.Fatalf("200 with body %q", rec.Body)
		}
		if rec.Code != 200 && rec.Header().Get("x-amzn-ErrorType") == "" {
			t.Fatalf("%d without x-amzn-ErrorType", rec.Code)
		}
	})
}
